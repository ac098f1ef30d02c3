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
