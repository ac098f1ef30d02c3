// Data-source test helpers: sources pointed at the test stack's own gateways, registered through the Worker.
import { env } from "cloudflare:test";
import { inject } from "vitest";
import { call, json, type Person } from "./harness.ts";

export interface Source {
  id: string;
  name: string;
  kind: "postgres" | "redis";
  connection: Record<string, unknown>;
  keyId: string;
}

/** The test stack's Neon gateway, as a Postgres data source would reach it. */
export const postgresBody = (overrides: Record<string, unknown> = {}) => ({
  kind: "postgres",
  name: `pg-${crypto.randomUUID().slice(0, 8)}`,
  connectionString: env.DATABASE_URL,
  endpoint: env.NEON_FETCH_ENDPOINT,
  ...overrides,
});

/** The test stack's Upstash gateway, with its token. */
export const redisBody = (overrides: Record<string, unknown> = {}) => ({
  kind: "redis",
  name: `redis-${crypto.randomUUID().slice(0, 8)}`,
  url: env.UPSTASH_REDIS_REST_URL,
  token: env.UPSTASH_REDIS_REST_TOKEN,
  ...overrides,
});

/** The machine's Redis over TCP (the tests' database), or null when the run has no real Redis. */
export const redisTcpUrl = (): string | null => inject("redisTcpUrl");

/** A redis:// source on the machine's Redis; `db` picks another logical database than the tests' own. */
export const redisTcpBody = (overrides: Record<string, unknown> = {}, { db }: { db?: number } = {}) => {
  const url = new URL(redisTcpUrl() ?? "redis://127.0.0.1:6379/0");
  if (db !== undefined) url.pathname = `/${db}`;
  return { kind: "redis", name: `redis-tcp-${crypto.randomUUID().slice(0, 8)}`, url: url.toString(), ...overrides };
};

/** Both Redis transports, for suites that must hold over each (TCP only when the run has a real Redis). */
export const redisTransports = () =>
  [{ transport: "upstash-rest", body: redisBody }, ...(redisTcpUrl() ? [{ transport: "tcp", body: redisTcpBody }] : [])] as const;

/** The same connection string with another password: the gateway answers 28P01. */
export const wrongPassword = () => {
  const url = new URL(env.DATABASE_URL);
  url.password = "not-the-password";
  return url.toString();
};

export const deadUrl = () => inject("deadUrl");

export async function createSource(who: Person, slug: string, body: Record<string, unknown>): Promise<Source> {
  return json<Source>(await call(`/api/v1/orgs/${slug}/data-sources`, { method: "POST", token: who.token, body }), 201);
}
