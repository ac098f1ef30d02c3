// The browser test's server, in a process of its own: the gateways on embedded engines and a Worker (which serves /docs' Scalar bundle itself).
// Its own process because the workers project's setup loads the same CommonJS modules (ioredis) and one process cannot evaluate them twice.
// Prints one line `browser-test-server-ready {"url": …}` when ready; stops when its stdin closes (the test run ended, or died) or on SIGTERM.
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { unstable_startWorker } from "wrangler";
import { startStack } from "../../dev/stack.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const log = (message: string) => console.error(`[browser stack] ${message}`);

// Offline: no Request.cf download or telemetry from wrangler.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

const stack = await startStack({ log });

const signingKey = (kid: string) => `${kid}:${randomBytes(32).toString("base64url")}`;
// No OPENAI_API_KEY: the statistical engine answers, offline and deterministic.
const vars = {
  ...stack.workerVars,
  AUTH_JWT_KEYS: signingKey("browser-1"),
  DATA_SOURCE_KEYS: signingKey("browser-ds-1"),
  ENVIRONMENT: "test",
  LOG_LEVEL: "error",
};

let worker: Awaited<ReturnType<typeof unstable_startWorker>> | undefined;
let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  await worker?.dispose().catch(() => {});
  await stack.stop();
  process.exit(code);
}
process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));
process.stdin.on("close", () => void stop(0));
process.stdin.resume();

try {
  worker = await unstable_startWorker({
    config: `${root}wrangler.toml`,
    // Only the variables above: a developer's .dev.vars (say, with an OPENAI_API_KEY) must not change what the test sees.
    envFiles: ["test/browser/no-such.env"],
    bindings: Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text" as const, value }])),
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, watch: false, logLevel: "warn" },
  });
  await worker.ready;
  process.stdout.write(`browser-test-server-ready ${JSON.stringify({ url: (await worker.url).origin })}\n`);
} catch (error) {
  log(`could not start the Worker: ${String(error)}`);
  await stop(1);
}
