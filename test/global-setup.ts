// Starts the gateways and the email stub for a test run (in Node, outside workerd) on a fresh database, and hands their
// addresses to the tests.
import type { TestProject } from "vitest/node";
import { startStack, type Stack } from "../dev/stack.ts";
import { unstable_startWorker } from "wrangler";
import { listen } from "../dev/http.ts";
import { randomBytes } from "node:crypto";
import { startOidcProvider } from "./support/oidc-provider.ts";
import { startOpenAIStub } from "../dev/openai-stub/server.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFaultControl, type FaultTargets } from "./support/fault-control.ts";
import { startWebhookReceiver } from "./support/webhook-receiver.ts";
import { startTcpProxy } from "./support/tcp-proxy.ts";

export interface StackInfo {
  name: string;
  postgres: Stack["postgres"];
  redis: Stack["redis"];
  vars: Stack["workerVars"];
}

declare module "vitest" {
  export interface ProvidedContext {
    /** What the Worker under test is pointed at, and its secrets. */
    workerVars: WorkerVars;
    /** Every stack of this run: the driver suites run against each. */
    stacks: StackInfo[];
    /** An address where nothing listens: a stopped gateway, as the Worker sees it. */
    deadUrl: string;
    /** The stand-in identity provider's signing key and settings. */
    /** A second, separate instance of the Worker (its own workerd) on the same Postgres and Redis, with RATE_LIMIT_FREE=6. */
    secondWorkerUrl: string;
    oidc: { issuer: string; audience: string; privateJwk: JsonWebKey & { kid: string }; statsUrl: string };
    /** The OpenAI stub's base URL (ends in /v1); scripted per test through its /_stub routes. */
    openaiStub: string;
    /** A third Worker on a stack of its own (gateways, model stub), with short clocks: only test/faults stops its dependencies. */
    faultWorkerUrl: string;
    /** Stops and restarts the fault stack's servers: POST /{neon|upstash|openai}/{stop|start} (test/support/fault-control.ts). */
    faultControlUrl: string;
    /** The fault stack's own OpenAI stub (ends in /v1). */
    faultOpenaiStub: string;
    /**
     * The machine's Redis as a redis:// data source reaches it over TCP (the primary stack's database), or null when the
     * run has no real Redis (then the TCP suites say so and are skipped).
     */
    redisTcpUrl: string | null;
    /**
     * The machine's real Postgres for TCP data sources, as an admin connection string (the tests create their databases
     * there), and the same server behind a stoppable proxy (faultControlUrl's /postgres-tcp/stop|start); null without one.
     */
    postgresTcp: { adminUrl: string; proxyPort: number } | null;
    /** The machine's Redis (redisTcpUrl) behind a stoppable proxy of its own (faultControlUrl's /redis-tcp/stop|start). */
    redisTcpProxyUrl: string | null;
    /** The email stub the Worker under test sends to (Resend's wire format); GET /_stub/messages reads what it received. */
    emailStub: string;
    /** The webhook receiver (test/support/webhook-receiver.ts): POST /hooks/{name} receives, /_control/{name} scripts and reads. */
    webhookReceiver: string;
  }
}

export type WorkerVars = Stack["workerVars"] & {
  AUTH_JWT_KEYS: string;
  DATA_SOURCE_KEYS: string;
  OIDC_JWKS_URL: string;
  OIDC_ISSUER: string;
  OIDC_AUDIENCE: string;
};

const info = (stack: Stack): StackInfo => ({
  name: `${stack.postgres}+${stack.redis}`,
  postgres: stack.postgres,
  redis: stack.redis,
  vars: stack.workerVars,
});

export default async function setup(project: TestProject) {
  // Offline: no Request.cf download or telemetry from the second Worker's wrangler.
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_SEND_METRICS ??= "false";
  const requireReal = process.env.REQUIRE_REAL_SERVICES === "1";
  // With REQUIRE_REAL_SERVICES=1 the machine's own servers are the default; a missing one fails the run.
  const postgresUrl = process.env.LOCAL_POSTGRES_URL ?? (requireReal ? "postgresql://postgres@127.0.0.1:5432/postgres" : undefined);
  // Database 15 (or TEST_REDIS_DB, so two checkouts can run at once) of the machine's Redis belongs to the tests and is
  // emptied first; a Redis named by the user is never emptied.
  const redisUrl = process.env.LOCAL_REDIS_URL ?? (requireReal ? `redis://127.0.0.1:6379/${process.env.TEST_REDIS_DB ?? 15}` : undefined);

  const stacks: Stack[] = [];
  const log = (message: string) => console.log(`[test stack] ${message}`);
  try {
    const primary = await startStack({
      postgresUrl,
      freshDatabase: true,
      redisUrl,
      flushRedis: process.env.LOCAL_REDIS_URL === undefined,
      requireReal,
      log,
    });
    stacks.push(primary);
    if (primary.postgres !== "pglite" || primary.redis !== "memory") stacks.push(await startStack({ log }));
  } catch (error) {
    for (const stack of stacks) await stack.stop();
    throw error;
  }
  log(
    `Worker on ${stacks[0]!.postgres} + ${stacks[0]!.redis}; driver suites on ${stacks.map((s) => `${s.postgres}+${s.redis}`).join(", ")}`,
  );

  const idp = await startOidcProvider();
  const openaiStub = await startOpenAIStub();
  project.provide("openaiStub", openaiStub.url);
  const webhookReceiver = await startWebhookReceiver();
  project.provide("webhookReceiver", webhookReceiver.url);
  const signingKey = (kid: string) => `${kid}:${randomBytes(32).toString("base64url")}`;
  const workerVars: WorkerVars = {
    ...stacks[0]!.workerVars,
    // Two keys: the first signs, both verify, as after a rotation.
    AUTH_JWT_KEYS: `${signingKey("test-2")},${signingKey("test-1")}`,
    // Two data-source keys as after a rotation: the first encrypts, both decrypt.
    DATA_SOURCE_KEYS: `${signingKey("ds-2")},${signingKey("ds-1")}`,
    OIDC_JWKS_URL: idp.jwksUrl,
    OIDC_ISSUER: idp.issuer,
    OIDC_AUDIENCE: idp.audience,
  };
  project.provide("workerVars", workerVars);
  project.provide("emailStub", stacks[0]!.email.url);
  project.provide("redisTcpUrl", stacks[0]!.redis === "redis" && redisUrl ? redisUrl : null);

  // The multi-instance case: limits must hold across Workers that share nothing but Redis.
  const secondVars = { ...workerVars, ENVIRONMENT: "test", LOG_LEVEL: "error", RATE_LIMIT_FREE: "6" };
  const second = await unstable_startWorker({
    config: "wrangler.toml",
    bindings: Object.fromEntries(Object.entries(secondVars).map(([name, value]) => [name, { type: "plain_text" as const, value }])),
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, watch: false, logLevel: "warn" },
  });
  await second.ready;
  project.provide("secondWorkerUrl", (await second.url).origin);
  project.provide("oidc", { issuer: idp.issuer, audience: idp.audience, privateJwk: idp.privateJwk, statsUrl: `${idp.server.url}/stats` });
  project.provide("stacks", stacks.map(info));
  const probe = await listen(async () => {});
  await probe.close();
  project.provide("deadUrl", probe.url);

  // Fault injection: stopping the shared gateways would break the other files, so the fault tests get a stack of their own.
  const faultStack = await startStack({ postgresUrl, freshDatabase: postgresUrl !== undefined, redisUrl, requireReal, log });
  const faultStub = await startOpenAIStub();
  const persistDir = await mkdtemp(join(tmpdir(), "datacrafted-faults-"));
  const realPostgres = postgresUrl ? new URL(postgresUrl) : undefined;
  const postgresTcp = realPostgres
    ? await startTcpProxy({ host: realPostgres.hostname, port: Number(realPostgres.port || 5432) })
    : undefined;
  project.provide("postgresTcp", postgresTcp && postgresUrl ? { adminUrl: postgresUrl, proxyPort: postgresTcp.port } : null);
  const realRedis = stacks[0]!.redis === "redis" && redisUrl ? new URL(redisUrl) : undefined;
  const redisTcp = realRedis ? await startTcpProxy({ host: realRedis.hostname, port: Number(realRedis.port || 6379) }) : undefined;
  if (realRedis && redisTcp) {
    const proxied = new URL(realRedis);
    proxied.port = String(redisTcp.port);
    project.provide("redisTcpProxyUrl", proxied.toString());
  } else project.provide("redisTcpProxyUrl", null);
  const faults: FaultTargets = { stack: faultStack, openai: faultStub, persistDir, postgresTcp, redisTcp };
  const faultVars = {
    ...workerVars,
    ...faultStack.workerVars,
    ENVIRONMENT: "test",
    LOG_LEVEL: "error",
    OPENAI_API_KEY: "sk-stub-fault-tests-only",
    OPENAI_BASE_URL: faultStub.url,
    // Short clocks, so that an outage shows (and ends) within a test.
    OPENAI_TIMEOUT_MS: "1500",
    OPENAI_QUEUE_TIMEOUT_MS: "1500",
    OPENAI_MAX_RETRIES: "0",
    LLM_BREAKER_THRESHOLD: "2",
    LLM_BREAKER_COOLDOWN_MS: "2000",
    RATE_LIMIT_TIMEOUT_MS: "300",
    HEALTH_CHECK_TIMEOUT_MS: "500",
    SSE_HEARTBEAT_SECONDS: "1",
    // Traffic loops send hundreds of requests a minute as one person: the tier and model budgets must not be what refuses them.
    RATE_LIMIT_FREE: "100000",
    RATE_LIMIT_LLM: "100000",
  };
  // An outage makes the Worker log an error per request, by design: silent unless FAULT_WORKER_LOGS=1 (debugging).
  const faultLogLevel = process.env.FAULT_WORKER_LOGS === "1" ? ("warn" as const) : ("none" as const);
  const faultWorker = await unstable_startWorker({
    config: "wrangler.toml",
    bindings: Object.fromEntries(Object.entries(faultVars).map(([name, value]) => [name, { type: "plain_text" as const, value }])),
    dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, watch: false, logLevel: faultLogLevel, persist: persistDir },
  });
  await faultWorker.ready;
  const control = await startFaultControl(faults);
  log(`fault Worker on ${faultStack.postgres} + ${faultStack.redis} (its own gateways and model stub)`);
  project.provide("faultWorkerUrl", (await faultWorker.url).origin);
  project.provide("faultControlUrl", control.url);
  project.provide("faultOpenaiStub", faultStub.url);
  return async () => {
    await control.close();
    await postgresTcp?.close();
    await redisTcp?.close();
    await faultWorker.dispose();
    await faultStub.close();
    await faultStack.stop();
    await rm(persistDir, { recursive: true, force: true });
    await second.dispose();
    await idp.server.close();
    await openaiStub.close();
    await webhookReceiver.close();
    for (const stack of stacks) await stack.stop();
  };
}
