// Data-source records: sealing and opening credentials, and what of them may be shown (the tenant-checked lookup is requireDataSource in lib/tenancy.ts).
import type { DataSourceKind } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import { ApiError } from "../../lib/problem.ts";
import type { DataSource } from "../../lib/tenancy.ts";
import { enforceHost, parseOrigin, parsePostgresUrl } from "./network.ts";
import { checkedRedisUrl, parseRedisUrl, type RedisTransport } from "./redis-address.ts";
import { type PostgresCredentials, type PostgresTarget, transportOf } from "./postgres.ts";
import { decryptSecret, encryptSecret, keyIdOf } from "./secrets.ts";
import type { RedisTarget } from "./redis.ts";

export type { DataSource };

/** `transport` absent: a source registered before transports existed, which is Upstash REST. TCP carries its password in `url`. */
export interface RedisCredentials {
  transport?: RedisTransport;
  url: string;
  token?: string;
}

export type Credentials = { kind: "postgres"; postgres: PostgresCredentials } | { kind: "redis"; redis: RedisCredentials };

/** The same source, required to be of `kind` (a Redis browse on a Postgres source is a 422). */
export function expectKind(source: DataSource, kind: DataSourceKind) {
  if (source.kind !== kind) {
    throw new ApiError(422, {
      code: "DATA_SOURCE_WRONG_KIND",
      detail: `This data source is ${source.kind}; the route is for ${kind} sources.`,
    });
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
      detail:
        "This data source's credentials cannot be opened with the configured keys (was its key retired before rotation?); set them again with PATCH.",
    });
  }
}

/**
 * Credentials as they may be stored: endpoints cut to their canonical origin, and every host checked against the network
 * policy (422 DATA_SOURCE_ADDRESS_REFUSED naming the field). Run when credentials are written and again before each call,
 * so a source stored before the policy tightened cannot reach what it now forbids.
 */
export function checkedCredentials(config: Config, credentials: Credentials): Credentials {
  const allowPrivate = config.DATA_SOURCE_ALLOW_PRIVATE;
  if (credentials.kind === "redis") {
    const { transport, url } = checkedRedisUrl(credentials.redis.url, allowPrivate, "body.url");
    return { kind: "redis", redis: transport === "tcp" ? { transport, url } : { transport, url, token: credentials.redis.token ?? "" } };
  }
  const { connectionString, endpoint, transport } = credentials.postgres;
  enforceHost(parsePostgresUrl(connectionString, "body.connectionString").host, allowPrivate, "body.connectionString");
  if (endpoint === undefined) return credentials;
  if (transport === "tcp") {
    throw new ApiError(400, {
      code: "VALIDATION_FAILED",
      detail: "An endpoint is the address of a Neon SQL-over-HTTP proxy; a tcp source connects to the connection string's host.",
      errors: [{ path: "body.endpoint", message: 'only for transport "neon-http"' }],
    });
  }
  const proxy = parseOrigin(endpoint, "body.endpoint", { paths: ["", "/sql"] });
  enforceHost(proxy.host, allowPrivate, "body.endpoint");
  return { kind: "postgres", postgres: { connectionString, endpoint: `${proxy.origin}/sql`, ...(transport ? { transport } : {}) } };
}

/** The source's Postgres connection for a call, with the configured limits. */
export async function postgresTarget(config: Config, source: DataSource, traceparent?: string): Promise<PostgresTarget> {
  expectKind(source, "postgres");
  const credentials = checkedCredentials(config, await open(config, source));
  if (credentials.kind !== "postgres")
    throw new ApiError(409, { code: "DATA_SOURCE_SECRET_UNREADABLE", detail: "The stored credentials are not a Postgres connection." });
  return {
    id: source.id,
    credentials: credentials.postgres,
    timeoutMs: config.DATA_SOURCE_TIMEOUT_MS,
    maxBytes: config.DATA_SOURCE_MAX_RESULT_BYTES,
    traceparent,
    tcp: {
      connections: config.SOURCE_CONNECTIONS,
      limits: { poolSize: config.DATA_SOURCE_POOL_SIZE, maxConcurrent: config.DATA_SOURCE_MAX_CONCURRENT },
      // TLS unless the connection string says otherwise; local servers in development and tests seldom have it.
      defaultSslmode: config.ENVIRONMENT === "production" ? "require" : "disable",
    },
  };
}

export async function redisCredentials(config: Config, source: DataSource): Promise<RedisCredentials> {
  expectKind(source, "redis");
  const credentials = checkedCredentials(config, await open(config, source));
  if (credentials.kind !== "redis")
    throw new ApiError(409, { code: "DATA_SOURCE_SECRET_UNREADABLE", detail: "The stored credentials are not a Redis connection." });
  return credentials.redis;
}

/** A Redis source's target: its credentials, the clocks, and (for TCP) the source objects its calls go through. */
export async function redisTarget(config: Config, source: DataSource): Promise<RedisTarget> {
  return {
    id: source.id,
    credentials: await redisCredentials(config, source),
    timeoutMs: config.DATA_SOURCE_TIMEOUT_MS,
    maxBytes: config.DATA_SOURCE_MAX_RESULT_BYTES,
    tcp: {
      connections: config.SOURCE_CONNECTIONS,
      limits: { poolSize: config.DATA_SOURCE_POOL_SIZE, maxConcurrent: config.DATA_SOURCE_MAX_CONCURRENT },
    },
  };
}

/** What of a connection may be shown: where it goes and as whom, and whether a secret is set — never the secret. */
export function displayOf(credentials: Credentials): DataSource["display"] {
  if (credentials.kind === "redis") {
    if (credentials.redis.transport !== "tcp")
      return {
        transport: "upstash-rest",
        url: new URL(credentials.redis.url).origin,
        hasToken: (credentials.redis.token ?? "").length > 0,
      };
    const address = parseRedisUrl(credentials.redis.url, "body.url");
    return {
      transport: "tcp",
      host: address.host,
      port: address.port,
      database: address.db,
      user: address.username ?? null,
      hasPassword: address.password !== undefined,
      tls: address.tls,
    };
  }
  const address = parsePostgresUrl(credentials.postgres.connectionString, "body.connectionString");
  return {
    host: address.host,
    port: address.port,
    database: address.database,
    user: address.user,
    hasPassword: address.password.length > 0,
    sslmode: address.sslmode ?? null,
    endpoint: credentials.postgres.endpoint ?? null,
    transport: transportOf(credentials.postgres),
  };
}
