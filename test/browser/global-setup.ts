// Finds Chromium (or fails or skips without it) and starts the browser test's server (test/browser/serve.ts) in a child process.
import { existsSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { startWorkerProcess } from "../support/worker-process.ts";

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

  const { url, stop } = await startWorkerProcess();
  project.provide("playgroundUrl", url);
  return stop;
}
