// Starts a test server script (gateways on embedded engines and a Worker, as test/browser/serve.ts) in a child process
// and waits for its ready line: for Node test projects that need a running Worker (the browser test, the tus client test).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const READY_TIMEOUT_MS = 120_000;
/** What serve.ts prints, followed by {"url": …}, once the Worker answers. */
const READY = "browser-test-server-ready ";

/** The Worker's origin, and how to stop it (the child also stops when this process ends: its stdin is its lifeline). */
export async function startWorkerProcess(script = fileURLToPath(new URL("../browser/serve.ts", import.meta.url))) {
  const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the test server was not ready within ${READY_TIMEOUT_MS / 1000} s`)),
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
        reject(new Error(`the test server exited (${code ?? "signal"}) before it was ready`));
      });
    });
    return { url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
