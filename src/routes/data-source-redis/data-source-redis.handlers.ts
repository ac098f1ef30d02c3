// Redis data sources: SCAN, read and write keys, typed ops, server info, slow log, memory, publish, allow-listed pipelines,
// imports into datasets.
import type { Context } from "hono";
import { ApiError } from "../../lib/problem.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/types.ts";
import { full } from "../datasets/datasets.handlers.ts";
import { importRows } from "../../services/data-sources/import.ts";
import { collectKeys, deleteKey as del, readKey, scanKeys, serverInfo, writeKey } from "../../services/data-sources/redis-browse.ts";
import { canonicalName, classify, refusal } from "../../services/data-sources/redis-commands.ts";
import { opWrites, planOp } from "../../services/data-sources/redis-ops.ts";
import { memory as memoryOf, publish as publishTo, slowlog as slowlogOf } from "../../services/data-sources/redis-server.ts";
import { type Command, type RedisTarget, send, sendAll } from "../../services/data-sources/redis.ts";
import { capBytes } from "../../services/data-sources/postgres.ts";
import { redisTarget } from "../../services/data-sources/registry.ts";
import { requireDataSource } from "../../lib/tenancy.ts";
import { recordUsage } from "../../services/usage/record.ts";
import type { Action } from "../../lib/policy.ts";
import type * as routes from "./data-source-redis.routes.ts";

/** Runs `work` on the Redis source named by the route's params, for a caller allowed `action` (over TCP its calls go
 * through the source's SourceConnection object and its warm connections). */
async function withRedis<T>(
  c: Context<AppEnv>,
  { slug, id }: { slug: string; id: string },
  action: Action,
  work: (redis: RedisTarget) => Promise<T>,
): Promise<T> {
  const { source } = await requireDataSource(c, slug, id, action);
  return work(await redisTarget(c.get("config"), source));
}

export const keys: AppRouteHandler<typeof routes.keys> = async (c) => {
  const { match, cursor, count, type } = c.req.valid("query");
  const found = await withRedis(c, c.req.valid("param"), "data_sources:read", (redis) => scanKeys(redis, { match, cursor, count, type }));
  return c.json(found, 200);
};

export const getKey: AppRouteHandler<typeof routes.getKey> = async (c) => {
  const params = c.req.valid("param");
  return c.json(await withRedis(c, params, "data_sources:read", (redis) => readKey(redis, params.key, c.req.valid("query"))), 200);
};

export const putKey: AppRouteHandler<typeof routes.putKey> = async (c) => {
  const params = c.req.valid("param");
  const { ttlSeconds, ...value } = c.req.valid("json");
  const written = await withRedis(c, params, "data_sources:write", async (redis) => {
    await writeKey(redis, params.key, value, ttlSeconds);
    return readKey(redis, params.key, { offset: 0, count: 100, cursor: "0" });
  });
  return c.json(written, 200);
};

export const deleteKey: AppRouteHandler<typeof routes.deleteKey> = async (c) => {
  const params = c.req.valid("param");
  if (!(await withRedis(c, params, "data_sources:write", (redis) => del(redis, params.key))))
    throw new ApiError(404, { detail: "No such key." });
  return c.body(null, 204);
};

export const keyOps: AppRouteHandler<typeof routes.keyOps> = async (c) => {
  const params = c.req.valid("param");
  const body = c.req.valid("json");
  const { command, shape } = planOp(params.key, body);
  const result = await withRedis(c, params, opWrites(body) ? "data_sources:write" : "data_sources:read", async (redis) => {
    const [reply] = await sendAll(redis, [command]);
    const shaped = shape(reply);
    if (capBytes([shaped], redis.maxBytes).length === 0) {
      throw new ApiError(422, { code: "RESULT_TOO_LARGE", detail: `The result is larger than ${redis.maxBytes} bytes; ask for less.` });
    }
    return shaped;
  });
  return c.json({ key: params.key, op: body.op, result }, 200);
};

export const slowlog: AppRouteHandler<typeof routes.slowlog> = async (c) => {
  const { count } = c.req.valid("query");
  return c.json(await withRedis(c, c.req.valid("param"), "data_sources:query", (redis) => slowlogOf(redis, count)), 200);
};

export const memory: AppRouteHandler<typeof routes.memory> = async (c) => {
  const query = c.req.valid("query");
  return c.json(await withRedis(c, c.req.valid("param"), "data_sources:read", (redis) => memoryOf(redis, query)), 200);
};

export const publish: AppRouteHandler<typeof routes.publish> = async (c) => {
  const { channel, message } = c.req.valid("json");
  return c.json(await withRedis(c, c.req.valid("param"), "data_sources:write", (redis) => publishTo(redis, channel, message)), 200);
};

export const info: AppRouteHandler<typeof routes.info> = async (c) => {
  return c.json(await withRedis(c, c.req.valid("param"), "data_sources:read", serverInfo), 200);
};

export const pipeline: AppRouteHandler<typeof routes.pipeline> = async (c) => {
  const { commands: sent } = c.req.valid("json");
  const refused = [...new Set(sent.map(([name, ...args]) => refusal(name!, args)).filter((reason) => reason !== undefined))];
  if (refused.length > 0) {
    throw new ApiError(422, { code: "REDIS_COMMAND_NOT_ALLOWED", detail: `Not allowed through a data source: ${refused.join("; ")}.` });
  }
  // What was checked is what is sent: the canonical name, never the caller's spelling of it.
  const commands = sent.map(([name, ...args]): Command => [canonicalName(name!)!, ...args]);
  const classes = commands.map(([name, ...args]) => classify(name, args));
  const action = classes.includes("write") ? "data_sources:write" : "data_sources:query";
  const sized = await withRedis(c, c.req.valid("param"), action, async (redis) => {
    const results = await send(redis, commands, { callerText: true });
    recordUsage(c, { dataSourceQueries: 1 });
    // One reply too big for the response is an error of its own, not a 500 or a cut answer.
    const kept = results.map((reply) => (capBytes([reply], redis.maxBytes).length ? reply : { error: "RESULT_TOO_LARGE" }));
    if (JSON.stringify(kept).length > redis.maxBytes) {
      throw new ApiError(422, {
        code: "RESULT_TOO_LARGE",
        detail: `The replies are larger than ${redis.maxBytes} bytes together; send fewer commands.`,
      });
    }
    return kept;
  });
  return c.json({ results: sized }, 200);
};

export const importKeys: AppRouteHandler<typeof routes.importKeys> = async (c) => {
  const { projectId, name, keys: names, match, maxKeys } = c.req.valid("json");
  const rows = await withRedis(c, c.req.valid("param"), "data_sources:query", (redis) =>
    collectKeys(redis, { keys: names, match, maxKeys }),
  );
  recordUsage(c, { dataSourceQueries: 1 });
  const { dataset, created } = await importRows(c, projectId, name, rows);
  c.set("auditTarget", { type: "datasets", id: dataset.id });
  c.header(created ? "Location" : "Content-Location", `/api/v1/datasets/${dataset.id}`);
  return created ? c.json(full(dataset), 201) : c.json(full(dataset), 200);
};
