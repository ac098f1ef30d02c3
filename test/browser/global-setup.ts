// Finds Chromium (or fails or skips without it) and starts the browser test's server (test/browser/serve.ts) in a child process.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The Worker the browser test drives (statistical engine, /docs loading Scalar from a local copy). */
    playgroundUrl: string;
    /** The Chromium to launch, or null when this machine has none (the browser test is then skipped). */
    chromiumPath: string | null;
  }
}

/** Debian's Chromium (`apt-get install chromium`), never a downloaded one; CHROMIUM_PATH names another. */
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = fileURLToPath(new URL("../..", import.meta.url));
const READY_TIMEOUT_MS = 120_000;
/** What serve.ts prints, followed by {"url": …}, once the Worker answers. */
const READY = "browser-test-server-ready ";

export default async function setup(project: TestProject) {
  const required = process.env.CI === "true" || process.env.REQUIRE_BROWSER === "1";
  const chromium = existsSync(chromiumPath) ? chromiumPath : null;
  if (!chromium) {
    const how = `No Chromium at ${chromiumPath}: install it with \`sudo apt-get install chromium\` (or set CHROMIUM_PATH).`;
    // CI must not pass by skipping what it exists to check.
    if (required) throw new Error(`${how} CI=true / REQUIRE_BROWSER=1 make a missing browser an error.`);
    console.warn(`[browser] ${how} Skipping the browser test.`);
  }
  project.provide("chromiumPath", chromium);

  // stdin stays open as the child's lifeline: when this process ends, so does the child.
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./serve.ts", import.meta.url))], {
    cwd: root,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stopChild = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the browser test's server was not ready within ${READY_TIMEOUT_MS / 1000} s`)),
        READY_TIMEOUT_MS,
      );
      // Anything else the server prints (wrangler's notes) passes through.
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (!line.startsWith(READY)) return void console.log(line);
        clearTimeout(timer);
        resolve((JSON.parse(line.slice(READY.length)) as { url: string }).url);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the browser test's server exited (${code ?? "signal"}) before it was ready`));
      });
    });
    project.provide("playgroundUrl", url);
  } catch (error) {
    await stopChild();
    throw error;
  }
  return stopChild;
}
