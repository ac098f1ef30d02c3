// `npm run dev`: the gateways (embedded by default), migrations, then `wrangler dev` pointed at them. Ctrl-C stops it all.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startStack } from "./stack.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const port = Number(process.env.PORT ?? 8787);
const log = (message: string) => console.log(`[dev] ${message}`);

// DEV_DATA_DIR puts the embedded Postgres and the Worker's local state elsewhere (test/dev/wrangler-dev.node.test.ts).
const dataDir = process.env.DEV_DATA_DIR;
const pgliteDir = dataDir ? `${dataDir}/pglite` : `${root}.data/pglite`;
if (!process.env.LOCAL_POSTGRES_URL) mkdirSync(pgliteDir, { recursive: true });

interface DevSecrets {
  AUTH_JWT_KEYS: string;
  DATA_SOURCE_KEYS: string;
}

/**
 * The token-signing key and the data-source credential key, made on first run and kept in .data/
 * (ignored by git) so sessions and stored credentials survive a restart. A file from before a key
 * existed gains it.
 */
function devSecrets(): DevSecrets {
  const file = `${root}.data/dev-secrets.json`;
  const stored = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Partial<DevSecrets>) : {};
  const secrets: DevSecrets = {
    AUTH_JWT_KEYS: stored.AUTH_JWT_KEYS ?? `dev-1:${randomBytes(32).toString("base64url")}`,
    DATA_SOURCE_KEYS: stored.DATA_SOURCE_KEYS ?? `dev-1:${randomBytes(32).toString("base64url")}`,
  };
  if (stored.AUTH_JWT_KEYS !== secrets.AUTH_JWT_KEYS || stored.DATA_SOURCE_KEYS !== secrets.DATA_SOURCE_KEYS) {
    mkdirSync(`${root}.data`, { recursive: true });
    writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  }
  return secrets;
}

const stack = await startStack({
  postgresUrl: process.env.LOCAL_POSTGRES_URL,
  pgliteDir: process.env.LOCAL_POSTGRES_URL ? undefined : pgliteDir,
  redisUrl: process.env.LOCAL_REDIS_URL,
  requireReal: process.env.REQUIRE_REAL_SERVICES === "1",
  neonPort: process.env.LOCAL_NEON_PORT ? Number(process.env.LOCAL_NEON_PORT) : undefined,
  upstashPort: process.env.LOCAL_UPSTASH_PORT ? Number(process.env.LOCAL_UPSTASH_PORT) : undefined,
  emailPort: process.env.LOCAL_EMAIL_PORT ? Number(process.env.LOCAL_EMAIL_PORT) : undefined,
  // Nothing is really sent locally: each verification or invitation link shows here instead.
  onEmail: (message) =>
    log(`email to ${message.to.join(", ")}: "${message.subject}"${message.links.map((link) => `\n      ${link}`).join("")}`),
  log,
});
log(
  `Postgres: ${stack.postgres === "pglite" ? `embedded PGlite (data in .data/pglite)` : "LOCAL_POSTGRES_URL"} via the Neon gateway at ${stack.neon.sqlEndpoint}`,
);
log(
  `Redis:    ${stack.redis === "memory" ? "embedded in-memory engine" : "LOCAL_REDIS_URL"} via the Upstash gateway at ${stack.upstash.url}`,
);
log("Data sources: DATA_SOURCE_ALLOW_PRIVATE is on (ENVIRONMENT=development): sources may reach loopback and private addresses");
log(`Email:    a local stub of the email API at ${stack.email.url} (links are printed here; GET /_stub/messages lists them)`);

// The connection variables go on the command line (never into a file); fresh secrets every run.
const vars = Object.entries({
  ...stack.workerVars,
  AUTH_JWT_KEYS: process.env.AUTH_JWT_KEYS ?? devSecrets().AUTH_JWT_KEYS,
  DATA_SOURCE_KEYS: process.env.DATA_SOURCE_KEYS ?? devSecrets().DATA_SOURCE_KEYS,
  ENVIRONMENT: "development",
  APP_URL: process.env.APP_URL ?? `http://127.0.0.1:${port}`,
  ALLOWED_ORIGINS: process.env.ALLOWED_ORIGINS ?? "*",
}).flatMap(([key, value]) => ["--var", `${key}:${value}`]);
const wrangler = spawn(
  `${root}node_modules/.bin/wrangler`,
  [
    "dev",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--show-interactive-dev-session=false",
    "--test-scheduled",
    ...(dataDir ? ["--persist-to", `${dataDir}/wrangler`] : []),
    ...vars,
  ],
  {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
    // Offline by default: no Request.cf download, no telemetry.
    env: { CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", ...process.env },
  },
);

let announced = false;
wrangler.stdout.on("data", (chunk: Buffer) => {
  process.stdout.write(chunk);
  if (!announced && /Ready on/i.test(chunk.toString())) {
    announced = true;
    const base = `http://127.0.0.1:${port}`;
    console.log(`
  Datacrafted API is running at ${base}

  Try first:
    open ${base}/                    the playground: sign in, upload a CSV, watch the analysis stream
    curl ${base}/health/ready        both dependencies, with latency
    open ${base}/docs                interactive API reference
    curl ${base}/__scheduled         run the cron jobs now
    curl ${base}/openapi.json        the OpenAPI 3.1 document

  Ctrl-C stops the Worker and both gateways.
`);
  }
});

let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  log("stopping…");
  if (wrangler.exitCode === null) {
    wrangler.kill("SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 3_000).unref() && wrangler.once("exit", resolve));
    if (wrangler.exitCode === null) wrangler.kill("SIGKILL");
  }
  await stack.stop();
  process.exit(code);
}

process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
wrangler.on("exit", (code) => {
  if (!stopping) {
    log(`wrangler exited (${code ?? "signal"})`);
    void shutdown(code ?? 1);
  }
});
