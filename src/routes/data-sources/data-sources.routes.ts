// Route definitions for the data-source registry: list, create, get, update, delete, test the connection.
import { createRoute, z } from "@hono/zod-openapi";
import { dataSourceKinds } from "../../db/schema.ts";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import type { ApiError } from "../../lib/problem.ts";
import { parseOrigin, parsePostgresUrl } from "../../services/data-sources/network.ts";
import { postgresTransports } from "../../services/data-sources/postgres.ts";
import { parseRedisUrl, redisTransports, transportOf } from "../../services/data-sources/redis-address.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { Slug, SlugParam, Text, Timestamp } from "../schemas.ts";

const name = Text.trim().min(1).max(200).openapi({ example: "Warehouse (read replica)" });
/** A strict parse as a refinement, so a malformed value is a 400 naming the field (never a 500 later). */
const strictly = (parse: (value: string) => unknown) => (value: string, ctx: z.RefinementCtx) => {
  try {
    parse(value);
  } catch (error) {
    for (const issue of (error as ApiError).errors ?? [{ path: "", message: String(error) }])
      ctx.addIssue({ code: "custom", message: issue.message });
  }
};
const connectionString = z
  .string()
  .max(2_000)
  .superRefine(strictly((value) => parsePostgresUrl(value, "")))
  .openapi({
    description:
      "postgres://user:password@host:port/database; parameters: sslmode, application_name, connect_timeout, channel_binding. Written once, never shown again",
    example: "postgresql://analyst:secret@db.example.com:5432/warehouse?sslmode=require",
  });
const endpoint = z
  .string()
  .max(2_000)
  .superRefine(strictly((value) => parseOrigin(value, "", { paths: ["", "/sql"] })))
  .openapi({
    description:
      "A non-Neon proxy that speaks Neon's SQL-over-HTTP protocol: a bare origin (its path /sql is implied); unset: Neon's endpoint for the host",
  });
const postgresTransport = z.enum(postgresTransports).openapi({
  description:
    "How the source is reached: tcp (Postgres' own protocol, through the source's connection pool) or neon-http (Neon's SQL-over-HTTP). Default: tcp, or neon-http when an endpoint is given",
});
const redisUrl = z
  .string()
  .max(2_000)
  .superRefine(strictly((value) => (transportOf(value) === "tcp" ? parseRedisUrl(value, "") : parseOrigin(value, ""))))
  .openapi({
    description:
      "redis://[user:password@]host[:port][/db] or rediss://… (TLS): RESP over TCP, the path's number is the database and the only one reached. Or an Upstash REST URL: a bare origin (scheme, host, port), no path, query or userinfo. Written once, the password never shown again",
    example: "rediss://analyst:secret@cache.example.com:6380/0",
  });
const token = z
  .string()
  .min(1)
  .max(4_000)
  .openapi({ description: "The Upstash REST token (REST URLs only); written once, never shown again" });
const redisTransport = z.enum(redisTransports).openapi({
  description: "How the source is reached; implied by the URL (redis:// and rediss:// are tcp, https:// is upstash-rest)",
});

/** A Redis URL and token that go together: a token only with REST, and a transport, if named, that the URL's scheme means. */
const redisFields = (body: { url?: string; token?: string; transport?: string }, ctx: z.RefinementCtx, { partial = false } = {}) => {
  if (body.url === undefined) return;
  const implied = transportOf(body.url);
  if (body.transport !== undefined && body.transport !== implied)
    ctx.addIssue({ code: "custom", path: ["transport"], message: `the URL's scheme means ${implied}` });
  if (implied === "tcp" && body.token !== undefined)
    ctx.addIssue({ code: "custom", path: ["token"], message: "a redis:// source carries its password in the URL" });
  if (implied === "upstash-rest" && body.token === undefined && !partial)
    ctx.addIssue({ code: "custom", path: ["token"], message: "an Upstash REST URL needs its token" });
};

export const CreateDataSource = z
  .discriminatedUnion("kind", [
    z
      .object({
        kind: z.literal("postgres"),
        name,
        connectionString,
        endpoint: endpoint.optional(),
        transport: postgresTransport.optional(),
      })
      .strict(),
    z
      .object({ kind: z.literal("redis"), name, url: redisUrl, token: token.optional(), transport: redisTransport.optional() })
      .strict()
      .superRefine((body, ctx) => redisFields(body, ctx)),
  ])
  .openapi("CreateDataSource");

const Connection = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).openapi({
  description:
    "Where the source points and as whom (Postgres: host, port, database, user, hasPassword, sslmode, endpoint, transport; Redis over tcp: transport, host, port, database, user, hasPassword, tls; Redis over upstash-rest: transport, url, hasToken); never a secret",
  example: {
    host: "ep-cool-1.eu-central-1.aws.neon.tech",
    port: 5432,
    database: "neondb",
    user: "analyst",
    hasPassword: true,
    sslmode: "require",
    endpoint: null,
    transport: "tcp",
  },
});

export const DataSource = z
  .object({
    id: z.uuid(),
    org: Slug,
    name: z.string(),
    kind: z.enum(dataSourceKinds),
    connection: Connection,
    keyId: z.string().openapi({ description: "The DATA_SOURCE_KEYS key its credentials are sealed with" }),
    createdBy: z.uuid().nullable(),
    updatedBy: z.uuid().nullable(),
    lastTestedAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("DataSource");

export const SourceParams = z.object({ slug: Slug, id: z.uuid() });
const one = (description: string) => ({ description, content: { "application/json": { schema: DataSource } } });
const tags = ["Data sources"];

export const list = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources",
  operationId: "listDataSources",
  tags,
  summary: "The organization's data sources, newest first",
  ...authed,
  request: { params: SlugParam, query: PageQuery.extend({ kind: z.enum(dataSourceKinds).optional() }) },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(DataSource) } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const create = createRoute({
  method: "post",
  path: "/orgs/{slug}/data-sources",
  operationId: "createDataSource",
  tags,
  summary: "Register a Postgres or Redis data source (admins and owners); its credentials are sealed at rest",
  ...authed,
  request: { params: SlugParam, body: jsonBody(CreateDataSource) },
  responses: { 201: one("Registered"), ...problemResponses(400, 401, 403, 404, 409, 415, 422) },
});

export const get = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}",
  operationId: "getDataSource",
  tags,
  summary: "One data source",
  ...authed,
  request: { params: SourceParams },
  responses: { 200: one("The data source"), ...problemResponses(400, 401, 403, 404) },
});

export const update = createRoute({
  method: "patch",
  path: "/orgs/{slug}/data-sources/{id}",
  operationId: "updateDataSource",
  tags,
  summary: "Rename it or replace its connection (admins and owners); fields of the other kind are refused",
  ...authed,
  request: {
    params: SourceParams,
    body: jsonBody(
      z
        .object({ name, connectionString, endpoint: endpoint.nullable(), transport: postgresTransport, url: redisUrl, token })
        .partial()
        .strict()
        .superRefine((body, ctx) => redisFields(body, ctx, { partial: true })),
    ),
  },
  responses: { 200: one("Updated"), ...problemResponses(400, 401, 403, 404, 409, 415, 422) },
});

export const remove = createRoute({
  method: "delete",
  path: "/orgs/{slug}/data-sources/{id}",
  operationId: "deleteDataSource",
  tags,
  summary: "Forget a data source and its credentials (admins and owners)",
  ...authed,
  request: { params: SourceParams },
  responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 404) },
});

export const TestResult = z
  .object({
    ok: z.literal(true),
    latencyMs: z.number().int(),
    serverVersion: z.string().openapi({ example: "16.4" }),
    details: z.record(z.string(), z.union([z.string(), z.number()])),
    role: z
      .object({
        superuser: z.boolean(),
        createRole: z.boolean(),
        createDatabase: z.boolean(),
        bypassRls: z.boolean(),
        createSchema: z.boolean(),
        writeTables: z.boolean(),
      })
      .optional()
      .openapi({
        description:
          "Postgres: what the source's role may do beyond reading (the role is the real defence; see the README's read-only role)",
      }),
    warnings: z
      .array(z.string())
      .openapi({ description: "One sentence for each power of the role beyond reading; empty for a read-only role" }),
  })
  .openapi("DataSourceTest");

export const test = createRoute({
  method: "post",
  path: "/orgs/{slug}/data-sources/{id}/test",
  operationId: "testDataSource",
  tags,
  summary: "Connect and answer with latency and server version, or a problem naming what failed (members and above)",
  ...authed,
  request: { params: SourceParams },
  responses: {
    200: { description: "Connected", content: { "application/json": { schema: TestResult } } },
    ...problemResponses(400, 401, 403, 404, 409, 422, 502, 503, 504),
  },
});

const Breaker = z
  .object({
    state: z.enum(["closed", "open", "half-open"]),
    failures: z.number().int().openapi({ description: "Outages in a row so far" }),
    retryAfterSeconds: z.number().int().nullable().openapi({ description: "While open: seconds until one trial call may pass" }),
  })
  .openapi("DataSourceBreaker");

export const SourceHealth = z
  .object({
    status: z.enum(["up", "degraded", "down", "unknown"]).openapi({
      description:
        "From the last hour of calls: down (breaker open, or the last call an outage), degraded (some outages), up, or unknown (no calls)",
    }),
    windowSeconds: z.number().int(),
    calls: z.number().int(),
    outages: z.number().int().openapi({ description: "Calls that found the source unreachable or timed out" }),
    lastCallAt: Timestamp.nullable(),
    lastOutageAt: Timestamp.nullable(),
    breaker: Breaker,
  })
  .openapi("DataSourceHealth");

const count = z.number().int();
export const SourceMetrics = z
  .object({
    windowSeconds: z.number().int(),
    calls: count,
    outcomes: z
      .object({
        ok: count,
        query_failed: count,
        query_timeout: count,
        timeout: count,
        unreachable: count,
        auth_failed: count,
        circuit_open: count,
        busy: count,
        error: count,
      })
      .openapi({ description: "Calls by how they ended: the caller's own failures (query_*), the source's, or refused here" }),
    latencyMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() }),
    lastCallAt: Timestamp.nullable(),
    lastOutageAt: Timestamp.nullable(),
    breaker: Breaker,
    pool: z.object({
      size: count.openapi({ description: "Warm connections kept (DATA_SOURCE_POOL_SIZE)" }),
      inUse: count,
      waiting: count,
      maxConcurrent: count.openapi({ description: "Calls at once before 503 DATA_SOURCE_BUSY (DATA_SOURCE_MAX_CONCURRENT)" }),
    }),
  })
  .openapi("DataSourceMetrics");

export const health = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/health",
  operationId: "getDataSourceHealth",
  tags,
  summary: "The source's status over the last hour, from its connection object's call log (TCP sources; viewers and above)",
  ...authed,
  request: { params: SourceParams },
  responses: {
    200: { description: "Its health", content: { "application/json": { schema: SourceHealth } } },
    ...problemResponses(400, 401, 403, 404, 422),
  },
});

export const metrics = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/metrics",
  operationId: "getDataSourceMetrics",
  tags,
  summary: "Calls, outcomes, latency percentiles, breaker and pool of the last hour (TCP sources; viewers and above)",
  ...authed,
  request: { params: SourceParams },
  responses: {
    200: { description: "Its metrics", content: { "application/json": { schema: SourceMetrics } } },
    ...problemResponses(400, 401, 403, 404, 422),
  },
});
