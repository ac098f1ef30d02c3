// Route definitions for a Redis data source: SCAN, keys of any type with their TTL, typed writes and ops, info, slow log,
// memory by key, publish, pipelines, import.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { Dataset } from "../datasets/datasets.routes.ts";
import { SourceParams } from "../data-sources/data-sources.routes.ts";
import { KeyOp } from "../../services/data-sources/redis-ops.ts";
import { Text } from "../schemas.ts";

const tags = ["Data sources: Redis"];
const outbound = [400, 401, 403, 404, 409, 422, 502, 503, 504] as const;
const Key = z.string().min(1).max(1_024).openapi({ example: "user:42" });
const KeyParams = SourceParams.extend({ key: Key });
const RedisType = z.enum(["string", "hash", "list", "set", "zset", "stream"]);
const Cursor = z
  .string()
  .regex(/^\d{1,20}$/, "a cursor from the previous page")
  .default("0");

export const keys = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/keys",
  operationId: "scanDataSourceKeys",
  tags,
  summary: 'One SCAN step over keys matching a pattern (never KEYS); follow `cursor` until it is "0"',
  ...authed,
  request: {
    params: SourceParams,
    query: z.object({
      match: z.string().min(1).max(512).default("*"),
      cursor: Cursor,
      count: z.coerce.number().int().min(1).max(1_000).default(100),
      type: RedisType.optional(),
    }),
  },
  responses: {
    200: {
      description: "Keys found in this step",
      content: {
        "application/json": { schema: z.object({ cursor: z.string(), keys: z.array(z.object({ key: z.string(), type: z.string() })) }) },
      },
    },
    ...problemResponses(...outbound),
  },
});

export const KeyValue = z
  .object({
    key: z.string(),
    type: z.string(),
    ttl: z.number().int().openapi({ description: "Seconds to live; -1 when it never expires" }),
    length: z.number().int().nullable().openapi({ description: "Bytes of a string, members of a hash, list, set or sorted set" }),
    value: z
      .unknown()
      .openapi({ description: "A string; an object (hash); an array (list, set); [{member, score}] (sorted set); null for other types" }),
    cursor: z.string().nullable().openapi({ description: "Hashes and sets: pass as `cursor` for the next members; null when done" }),
    truncated: z.boolean(),
  })
  .openapi("RedisKey");

export const getKey = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/keys/{key}",
  operationId: "getDataSourceKey",
  tags,
  summary: "A key of any type with its TTL and (a page of) its value",
  ...authed,
  request: {
    params: KeyParams,
    query: z.object({
      offset: z.coerce.number().int().min(0).default(0),
      count: z.coerce.number().int().min(1).max(1_000).default(100),
      cursor: Cursor,
    }),
  },
  responses: { 200: { description: "The key", content: { "application/json": { schema: KeyValue } } }, ...problemResponses(...outbound) },
});

const member = z.string().max(1_000_000);
export const NewValue = z.discriminatedUnion("type", [
  z.object({ type: z.literal("string"), value: member, ttlSeconds: z.number().int().positive().optional() }).strict(),
  z
    .object({
      type: z.literal("hash"),
      value: z.record(z.string().min(1).max(1_024), member).refine((v) => Object.keys(v).length > 0, "at least one field"),
      ttlSeconds: z.number().int().positive().optional(),
    })
    .strict(),
  z
    .object({
      type: z.enum(["list", "set"]),
      value: z.array(member).min(1).max(10_000),
      ttlSeconds: z.number().int().positive().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal("zset"),
      value: z
        .array(z.object({ member, score: z.number() }))
        .min(1)
        .max(10_000),
      ttlSeconds: z.number().int().positive().optional(),
    })
    .strict(),
]);

export const putKey = createRoute({
  method: "put",
  path: "/orgs/{slug}/data-sources/{id}/keys/{key}",
  operationId: "setDataSourceKey",
  tags,
  summary: "Replace a key with a string, hash, list, set or sorted set, optionally expiring (admins and owners)",
  ...authed,
  request: { params: KeyParams, body: jsonBody(NewValue) },
  responses: {
    200: { description: "The key as written", content: { "application/json": { schema: KeyValue } } },
    ...problemResponses(...outbound, 415),
  },
});

export const deleteKey = createRoute({
  method: "delete",
  path: "/orgs/{slug}/data-sources/{id}/keys/{key}",
  operationId: "deleteDataSourceKey",
  tags,
  summary: "Delete a key (admins and owners)",
  ...authed,
  request: { params: KeyParams },
  responses: { 204: { description: "Deleted" }, ...problemResponses(...outbound) },
});

export const info = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/info",
  operationId: "getDataSourceInfo",
  tags,
  summary: "Server version and mode, clients, key count, keyspace and a memory summary",
  ...authed,
  request: { params: SourceParams },
  responses: {
    200: { description: "Server info", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    ...problemResponses(...outbound),
  },
});

export const pipeline = createRoute({
  method: "post",
  path: "/orgs/{slug}/data-sources/{id}/pipeline",
  operationId: "runDataSourcePipeline",
  tags,
  summary:
    "Several allow-listed commands in one round trip: reads for members, writes for admins; FLUSHALL, CONFIG, EVAL, KEYS… are refused",
  ...authed,
  request: {
    params: SourceParams,
    body: jsonBody(
      z
        .object({
          commands: z
            .array(z.array(z.string().max(1_000_000)).min(1).max(1_000))
            .min(1)
            .max(100),
        })
        .strict()
        .openapi({
          example: {
            commands: [
              ["HGETALL", "user:42"],
              ["TTL", "user:42"],
            ],
          },
        }),
    ),
  },
  responses: {
    200: {
      description: "One reply per command",
      content: {
        "application/json": {
          schema: z.object({ results: z.array(z.object({ result: z.unknown().optional(), error: z.string().optional() })) }),
        },
      },
    },
    ...problemResponses(...outbound, 415),
  },
});

export const importKeys = createRoute({
  method: "post",
  path: "/orgs/{slug}/data-sources/{id}/import-keys",
  operationId: "importDataSourceKeys",
  tags,
  summary: "Save keys (named, or matching a pattern) as a new dataset version in a project (members and above)",
  description:
    "Hashes become one row each with a column per field; a mix of types becomes key, type, ttl, value. More keys than `maxKeys` is 422 `RESULT_TOO_LARGE`.",
  ...authed,
  request: {
    params: SourceParams,
    body: jsonBody(
      z
        .object({
          projectId: z.uuid(),
          name: Text.trim().min(1).max(200),
          keys: z.array(Key).min(1).max(10_000).optional(),
          match: z.string().min(1).max(512).optional(),
          maxKeys: z.number().int().min(1).max(10_000).default(1_000),
        })
        .strict()
        .refine((body) => (body.keys === undefined) !== (body.match === undefined), {
          message: "send either keys or match",
          path: ["keys"],
        }),
    ),
  },
  responses: {
    201: { description: "A new dataset version", content: { "application/json": { schema: Dataset } } },
    200: { description: "The same rows are already a dataset of the project", content: { "application/json": { schema: Dataset } } },
    ...problemResponses(...outbound, 413, 415),
  },
});

export const keyOps = createRoute({
  method: "post",
  path: "/orgs/{slug}/data-sources/{id}/keys/{key}/ops",
  operationId: "runDataSourceKeyOp",
  tags,
  summary: "One typed operation on a key: strings, hashes, lists, sets, sorted sets, streams (reads for viewers, writes for admins)",
  description:
    "`op` names it: get, set, incrby; hget, hset, hincrby, hdel; lrange, lpush, rpush, linsert, lset, lrem; sinter, sunion, sdiff, sadd, srem; zincrby, zrem, zrange (by rank or score); xrange, xlen. A key of another type is 422 `REDIS_COMMAND_FAILED` (WRONGTYPE).",
  ...authed,
  request: {
    params: KeyParams,
    body: jsonBody(KeyOp.openapi({ example: { op: "hincrby", field: "visits", by: 1 } })),
  },
  responses: {
    200: {
      description: "The op's result",
      content: {
        "application/json": {
          schema: z
            .object({
              key: z.string(),
              op: z.string(),
              result: z.unknown().openapi({
                description:
                  "get: the string or null; counters: the new value; hget: {field: value|null}; writes: {added|removed|length|written}; lrange, set algebra: an array; zrange: [{member, score}]; xrange: [{id, fields}]; xlen: a number",
              }),
            })
            .openapi("RedisKeyOpResult"),
        },
      },
    },
    ...problemResponses(...outbound, 415),
  },
});

export const slowlog = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/slowlog",
  operationId: "getDataSourceSlowlog",
  tags,
  summary: "The slowest recent commands (SLOWLOG GET; members and above, for their arguments)",
  ...authed,
  request: { params: SourceParams, query: z.object({ count: z.coerce.number().int().min(1).max(128).default(20) }) },
  responses: {
    200: {
      description: "The slow log, newest first",
      content: {
        "application/json": {
          schema: z.object({
            length: z.number().int(),
            entries: z.array(
              z.object({
                id: z.number().int(),
                at: z.string(),
                durationMicros: z.number().int(),
                command: z.array(z.string()),
                client: z.string().nullable(),
                clientName: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    ...problemResponses(...outbound),
  },
});

export const memory = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/memory",
  operationId: "getDataSourceMemory",
  tags,
  summary: "Memory summary and the biggest keys (MEMORY USAGE) among those a bounded SCAN meets; never KEYS",
  description:
    "Each call sizes about `budget` matching keys (SCAN steps of at most `budget` and at most 100 steps, so a sparse pattern cannot walk the whole keyspace at once); follow `scan.cursor` until `scan.complete` to cover all of it.",
  ...authed,
  request: {
    params: SourceParams,
    query: z.object({
      match: z.string().min(1).max(512).default("*"),
      cursor: Cursor,
      budget: z.coerce.number().int().min(1).max(10_000).default(1_000),
      top: z.coerce.number().int().min(1).max(100).default(20),
      samples: z.coerce.number().int().min(0).max(100).default(5).openapi({ description: "MEMORY USAGE SAMPLES (0: every element)" }),
    }),
  },
  responses: {
    200: {
      description: "Memory by key",
      content: {
        "application/json": {
          schema: z.object({
            summary: z.record(z.string(), z.unknown()),
            totalKeys: z.number().int(),
            scan: z.object({ match: z.string(), scanned: z.number().int(), cursor: z.string(), complete: z.boolean() }),
            biggest: z.array(z.object({ key: z.string(), type: z.string(), bytes: z.number().int().nullable() })),
          }),
        },
      },
    },
    ...problemResponses(...outbound),
  },
});

export const publish = createRoute({
  method: "post",
  path: "/orgs/{slug}/data-sources/{id}/publish",
  operationId: "publishToDataSource",
  tags,
  summary: "PUBLISH a message on a channel (admins and owners)",
  ...authed,
  request: {
    params: SourceParams,
    body: jsonBody(
      z
        .object({ channel: z.string().min(1).max(1_024), message: z.string().max(1_000_000) })
        .strict()
        .openapi({ example: { channel: "orders", message: '{"id":42}' } }),
    ),
  },
  responses: {
    200: {
      description: "Published",
      content: {
        "application/json": { schema: z.object({ receivers: z.number().int().openapi({ description: "Subscribers that got it" }) }) },
      },
    },
    ...problemResponses(...outbound, 415),
  },
});
