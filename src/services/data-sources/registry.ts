// Data-source records: sealing and opening credentials, and what of them may be shown (the tenant-checked lookup is requireDataSource in lib/tenancy.ts).
import type { DataSourceKind } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import { ApiError } from "../../lib/problem.ts";
import type { DataSource } from "../../lib/tenancy.ts";
import type { PostgresCredentials, PostgresTarget } from "./postgres.ts";
import { decryptSecret, encryptSecret, keyIdOf } from "./secrets.ts";

export type { DataSource };

export interface RedisCredentials {
  url: string;
  token: string;
}

export type Credentials = { kind: "postgres"; postgres: PostgresCredentials } | { kind: "redis"; redis: RedisCredentials };

/** The same source, required to be of `kind` (a Redis browse on a Postgres source is a 422). */
export function expectKind(source: DataSource, kind: DataSourceKind) {
  if (source.kind !== kind) {
    throw new ApiError(422, { code: "DATA_SOURCE_WRONG_KIND", detail: `This data source is ${source.kind}; the route is for ${kind} sources.` });
  }
}

/** Seals credentials for record `id` under the first DATA_SOURCE_KEYS key. */
export async function seal(config: Config, id: string, credentials: Credentials) {
  const secret = await encryptSecret(config.DATA_SOURCE_KEYS, id, JSON.stringify(credentials));
  return { secret, keyId: keyIdOf(secret) };
}

export async function open(config: Config, source: DataSource): Promise<Credentials> {
  try {
    return JSON.parse(await decryptSecret(config.DATA_SOURCE_KEYS, source.id, source.secret)) as Credentials;
  } catch {
    throw new ApiError(409, {
      code: "DATA_SOURCE_SECRET_UNREADABLE",
      detail: "This data source's credentials cannot be opened with the configured keys (was its key retired before rotation?); set them again with PATCH.",
    });
  }
}

/** The source's Postgres connection for a call, with the configured limits. */
export async function postgresTarget(config: Config, source: DataSource): Promise<PostgresTarget> {
  expectKind(source, "postgres");
  const credentials = await open(config, source);
  if (credentials.kind !== "postgres") throw new ApiError(409, { code: "DATA_SOURCE_SECRET_UNREADABLE", detail: "The stored credentials are not a Postgres connection." });
  return { id: source.id, credentials: credentials.postgres, timeoutMs: config.DATA_SOURCE_TIMEOUT_MS, maxBytes: config.DATA_SOURCE_MAX_RESULT_BYTES };
}

export async function redisCredentials(config: Config, source: DataSource): Promise<RedisCredentials> {
  expectKind(source, "redis");
  const credentials = await open(config, source);
  if (credentials.kind !== "redis") throw new ApiError(409, { code: "DATA_SOURCE_SECRET_UNREADABLE", detail: "The stored credentials are not a Redis connection." });
  return credentials.redis;
}

/** An endpoint as it may be shown: scheme, host and path, never userinfo or a query string. */
const bareUrl = (value: string) => {
  const url = new URL(value);
  return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
};

/** What of a connection may be shown: where it goes and as whom, and whether a secret is set — never the secret. */
export function displayOf(credentials: Credentials): DataSource["display"] {
  if (credentials.kind === "redis") return { url: bareUrl(credentials.redis.url), hasToken: credentials.redis.token.length > 0 };
  const url = new URL(credentials.postgres.connectionString);
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 5432,
    database: decodeURIComponent(url.pathname.replace(/^\//, "")),
    user: decodeURIComponent(url.username),
    hasPassword: url.password.length > 0,
    sslmode: url.searchParams.get("sslmode"),
    endpoint: credentials.postgres.endpoint ? bareUrl(credentials.postgres.endpoint) : null,
  };
}
