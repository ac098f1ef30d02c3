// Typed operations on one key: the body of `POST …/keys/{key}/ops`, each op mapped to one command and its answer shaped.
// Strings, hashes, lists, sets, sorted sets and streams; reads for viewers, writes for admins and owners.
import { z } from "@hono/zod-openapi";
import type { Command } from "./redis.ts";

const Value = z.string().max(1_000_000);
const Field = z.string().min(1).max(1_024);
const OtherKey = z.string().min(1).max(1_024);
const Int = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
/** A score bound: a number, `-inf`/`+inf`, or `(n` for an exclusive bound. */
const ScoreBound = z.union([
  z.number(),
  z.string().regex(/^\(?(?:-?\d+(?:\.\d+)?(?:e[-+]?\d+)?|[-+]inf)$/i, "a number, (number, -inf or +inf"),
]);
const op = <T extends string>(name: T) => z.literal(name);

export const KeyOp = z
  .discriminatedUnion("op", [
    // Strings
    z.object({ op: op("get") }).strict(),
    z
      .object({
        op: op("set"),
        value: Value,
        ttlSeconds: z.number().int().positive().optional(),
        condition: z.enum(["nx", "xx"]).optional().openapi({ description: "nx: only if absent; xx: only if present" }),
      })
      .strict(),
    z.object({ op: op("incrby"), by: Int }).strict(),
    // Hashes
    z.object({ op: op("hget"), fields: z.array(Field).min(1).max(1_000) }).strict(),
    z
      .object({
        op: op("hset"),
        fields: z.record(Field, Value).refine((fields) => Object.keys(fields).length > 0, "at least one field"),
      })
      .strict(),
    z.object({ op: op("hincrby"), field: Field, by: Int }).strict(),
    z.object({ op: op("hdel"), fields: z.array(Field).min(1).max(1_000) }).strict(),
    // Lists
    z.object({ op: op("lrange"), start: Int.default(0), stop: Int.default(99) }).strict(),
    z.object({ op: z.enum(["lpush", "rpush"]), values: z.array(Value).min(1).max(10_000) }).strict(),
    z.object({ op: op("linsert"), position: z.enum(["before", "after"]), pivot: Value, value: Value }).strict(),
    z.object({ op: op("lset"), index: Int, value: Value }).strict(),
    z.object({ op: op("lrem"), count: Int.openapi({ description: ">0 from the head, <0 from the tail, 0 all" }), value: Value }).strict(),
    // Sets
    z
      .object({
        op: z.enum(["sinter", "sunion", "sdiff"]),
        with: z.array(OtherKey).min(1).max(100).openapi({ description: "The other sets, after this key" }),
      })
      .strict(),
    z.object({ op: z.enum(["sadd", "srem"]), members: z.array(Value).min(1).max(10_000) }).strict(),
    // Sorted sets
    z.object({ op: op("zincrby"), member: Value, by: z.number() }).strict(),
    z.object({ op: op("zrem"), members: z.array(Value).min(1).max(10_000) }).strict(),
    z
      .object({
        op: op("zrange"),
        by: z.enum(["rank", "score"]).default("rank"),
        start: ScoreBound.default(0).openapi({ description: "by rank: a rank (negative from the end); by score: the lowest score" }),
        stop: ScoreBound.default(-1).openapi({ description: "by rank: the last rank, inclusive; by score: the highest score" }),
        rev: z.boolean().default(false),
        offset: z.number().int().min(0).optional().openapi({ description: "by score: skip this many" }),
        count: z.number().int().min(1).max(10_000).optional().openapi({ description: "by score: at most this many" }),
      })
      .strict()
      .superRefine((body, ctx) => {
        if (body.by === "rank" && !(Number.isInteger(body.start) && Number.isInteger(body.stop)))
          ctx.addIssue({ code: "custom", path: ["start"], message: "ranks are integers" });
        if (body.by === "rank" && (body.offset !== undefined || body.count !== undefined))
          ctx.addIssue({ code: "custom", path: ["offset"], message: "offset and count page a range by score" });
        if ((body.offset === undefined) !== (body.count === undefined))
          ctx.addIssue({ code: "custom", path: ["count"], message: "send offset and count together" });
      }),
    // Streams
    z
      .object({
        op: op("xrange"),
        start: z
          .string()
          .regex(/^(?:-|\+|\(?\d+(?:-\d+)?)$/, "an entry id, - or +")
          .default("-"),
        end: z
          .string()
          .regex(/^(?:-|\+|\(?\d+(?:-\d+)?)$/, "an entry id, - or +")
          .default("+"),
        count: z.number().int().min(1).max(10_000).default(100),
      })
      .strict(),
    z.object({ op: op("xlen") }).strict(),
  ])
  .openapi("RedisKeyOp");
export type KeyOp = z.infer<typeof KeyOp>;

const writes = new Set<KeyOp["op"]>([
  "set",
  "incrby",
  "hset",
  "hincrby",
  "hdel",
  "lpush",
  "rpush",
  "linsert",
  "lset",
  "lrem",
  "sadd",
  "srem",
  "zincrby",
  "zrem",
]);

/** Whether `op` changes the key (data_sources:write) or only reads (data_sources:read). */
export const opWrites = (body: KeyOp) => writes.has(body.op);

const pairs = (flat: string[]) => {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};

/** The one command an op sends, and how its reply becomes the answer's `result`. */
export function planOp(key: string, body: KeyOp): { command: Command; shape: (reply: unknown) => unknown } {
  const same = (reply: unknown) => reply;
  const count = (reply: unknown) => Number(reply);
  switch (body.op) {
    case "get":
      return { command: ["GET", key], shape: same };
    case "set": {
      const command: Command = ["SET", key, body.value];
      if (body.ttlSeconds !== undefined) command.push("EX", String(body.ttlSeconds));
      if (body.condition) command.push(body.condition.toUpperCase());
      // SET answers OK, or nil when its condition kept it from writing.
      return { command, shape: (reply) => ({ written: reply !== null }) };
    }
    case "incrby":
      return { command: ["INCRBY", key, String(body.by)], shape: count };
    case "hget":
      return {
        command: ["HMGET", key, ...body.fields],
        shape: (reply) => Object.fromEntries(body.fields.map((field, i) => [field, (reply as (string | null)[])[i] ?? null])),
      };
    case "hset":
      return { command: ["HSET", key, ...Object.entries(body.fields).flat()], shape: (reply) => ({ added: Number(reply) }) };
    case "hincrby":
      return { command: ["HINCRBY", key, body.field, String(body.by)], shape: count };
    case "hdel":
      return { command: ["HDEL", key, ...body.fields], shape: (reply) => ({ removed: Number(reply) }) };
    case "lrange":
      return { command: ["LRANGE", key, String(body.start), String(body.stop)], shape: same };
    case "lpush":
    case "rpush":
      return { command: [body.op.toUpperCase(), key, ...body.values], shape: (reply) => ({ length: Number(reply) }) };
    case "linsert":
      // -1 when the pivot is not in the list.
      return {
        command: ["LINSERT", key, body.position.toUpperCase(), body.pivot, body.value],
        shape: (reply) => ({ length: Number(reply) }),
      };
    case "lset":
      return { command: ["LSET", key, String(body.index), body.value], shape: () => ({ written: true }) };
    case "lrem":
      return { command: ["LREM", key, String(body.count), body.value], shape: (reply) => ({ removed: Number(reply) }) };
    case "sinter":
    case "sunion":
    case "sdiff":
      return { command: [body.op.toUpperCase(), key, ...body.with], shape: (reply) => [...(reply as string[])].sort() };
    case "sadd":
      return { command: ["SADD", key, ...body.members], shape: (reply) => ({ added: Number(reply) }) };
    case "srem":
      return { command: ["SREM", key, ...body.members], shape: (reply) => ({ removed: Number(reply) }) };
    case "zincrby":
      return { command: ["ZINCRBY", key, String(body.by), body.member], shape: (reply) => Number(reply) };
    case "zrem":
      return { command: ["ZREM", key, ...body.members], shape: (reply) => ({ removed: Number(reply) }) };
    case "zrange": {
      // ZRANGE … REV takes its bounds high first.
      const [low, high] = [String(body.start), String(body.stop)];
      const command: Command = ["ZRANGE", key, ...(body.rev && body.by === "score" ? [high, low] : [low, high])];
      if (body.by === "score") command.push("BYSCORE");
      if (body.rev) command.push("REV");
      if (body.offset !== undefined) command.push("LIMIT", String(body.offset), String(body.count));
      command.push("WITHSCORES");
      return { command, shape: (reply) => pairs(reply as string[]).map(([member, score]) => ({ member, score: Number(score) })) };
    }
    case "xrange":
      return {
        command: ["XRANGE", key, body.start, body.end, "COUNT", String(body.count)],
        shape: (reply) => (reply as [string, string[]][]).map(([id, fields]) => ({ id, fields: Object.fromEntries(pairs(fields)) })),
      };
    case "xlen":
      return { command: ["XLEN", key], shape: count };
  }
}
