// Starts the local Neon and Upstash gateways on real servers or embedded engines, and the email stub: shared by `npm run dev` and the tests.
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { startEmailStub, type EmailStub, type StoredEmail } from "./email-stub/server.ts";
import { applyMigrations } from "./migrate.ts";
import type { SqlBackend } from "./neon-gateway/backend.ts";
import { createPgliteBackend } from "./neon-gateway/pglite-backend.ts";
import { createPostgresBackend } from "./neon-gateway/postgres-backend.ts";
import { startNeonGateway, type NeonGateway } from "./neon-gateway/server.ts";
import type { RedisBackend } from "./upstash-gateway/backend.ts";
import { createMemoryBackend } from "./upstash-gateway/memory-backend.ts";
import { createRedisBackend } from "./upstash-gateway/redis-backend.ts";
import { startUpstashGateway, type UpstashGateway } from "./upstash-gateway/server.ts";

export const migrationsFolder = fileURLToPath(new URL("../migrations", import.meta.url));

export interface StackOptions {
  /** A real Postgres server; without it, embedded PGlite. */
  postgresUrl?: string;
  /** With postgresUrl: create a throwaway database there, dropped on stop (tests). */
  freshDatabase?: boolean;
  /** Where PGlite keeps its data; without it, in memory. */
  pgliteDir?: string;
  /** A real Redis server; without it (or when it does not answer and real services are not required), the embedded engine. */
  redisUrl?: string;
  /** With redisUrl: empty its selected database first (tests use one of their own). */
  flushRedis?: boolean;
  /** A real server that does not answer is an error instead of a fallback. */
  requireReal?: boolean;
  neonPort?: number;
  upstashPort?: number;
  emailPort?: number;
  /** Each message the email stub accepts (npm run dev prints its links). */
  onEmail?: (message: StoredEmail) => void;
  log?: (message: string) => void;
}

export interface Stack {
  neon: NeonGateway;
  upstash: UpstashGateway;
  /** Where the Worker's verification and invitation mail goes: a stub of the email API that keeps what it receives. */
  email: EmailStub;
  postgres: SqlBackend["kind"];
  redis: RedisBackend["kind"];
  /** The Worker's variables that point it at these gateways. */
  workerVars: {
    DATABASE_URL: string;
    NEON_FETCH_ENDPOINT: string;
    UPSTASH_REDIS_REST_URL: string;
    UPSTASH_REDIS_REST_TOKEN: string;
    EMAIL_API_URL: string;
    EMAIL_API_KEY: string;
  };
  stop(): Promise<void>;
}

const secret = () => randomBytes(24).toString("base64url");

async function createThrowawayDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  // Random too: one run may create several (the fault tests' stack has its own).
  const name = `datacrafted_test_${Date.now()}_${process.pid}_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

async function sqlBackend(options: StackOptions, cleanups: (() => Promise<void>)[]): Promise<SqlBackend> {
  if (!options.postgresUrl) return createPgliteBackend(options.pgliteDir);
  let url = options.postgresUrl;
  if (options.freshDatabase) {
    const database = await createThrowawayDatabase(url);
    cleanups.push(database.drop);
    url = database.url;
  }
  return createPostgresBackend(url);
}

async function redisBackend(options: StackOptions): Promise<RedisBackend> {
  if (!options.redisUrl) return createMemoryBackend();
  try {
    const backend = await createRedisBackend(options.redisUrl);
    if (options.flushRedis) await backend.exec(["FLUSHDB"]);
    return backend;
  } catch (error) {
    if (options.requireReal) throw new Error(`Redis at ${options.redisUrl} does not answer: ${String(error)}`);
    options.log?.(`Redis at ${options.redisUrl} does not answer (${String(error)}); using the embedded engine`);
    return createMemoryBackend();
  }
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const sql = await sqlBackend(options, cleanups).catch((error: unknown) => {
      throw new Error(`Postgres at ${options.postgresUrl} does not answer: ${String(error)}`);
    });
    cleanups.push(() => sql.close());
    const redis = await redisBackend(options);
    cleanups.push(() => redis.close());

    const neon = await startNeonGateway({
      backend: sql,
      user: "datacrafted",
      password: secret(),
      database: "datacrafted",
      port: options.neonPort,
    });
    cleanups.push(() => neon.close());
    const upstash = await startUpstashGateway({ backend: redis, token: secret(), port: options.upstashPort });
    cleanups.push(() => upstash.close());
    const email = await startEmailStub({ apiKey: `re_stub_${secret()}`, port: options.emailPort, onMessage: options.onEmail });
    cleanups.push(() => email.close());

    const migrations = await applyMigrations({
      connectionString: neon.connectionString,
      sqlEndpoint: neon.sqlEndpoint,
      migrationsFolder,
    });
    options.log?.(`migrations: ${migrations.applied} applied, ${migrations.total} in all`);

    return {
      neon,
      upstash,
      email,
      postgres: sql.kind,
      redis: redis.kind,
      workerVars: {
        DATABASE_URL: neon.connectionString,
        NEON_FETCH_ENDPOINT: neon.sqlEndpoint,
        UPSTASH_REDIS_REST_URL: upstash.url,
        UPSTASH_REDIS_REST_TOKEN: upstash.token,
        EMAIL_API_URL: email.url,
        EMAIL_API_KEY: email.apiKey,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
