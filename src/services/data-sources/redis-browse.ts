// Redis browsing: SCAN by pattern, any key with its TTL, typed writes, server info with a memory summary, keys for an import.
import { ApiError } from "../../lib/problem.ts";
import { capBytes } from "./postgres.ts";
import { type Command, type RedisTarget, sendAll } from "./redis.ts";

/** INFO's `key:value` lines, by section. */
function parseInfo(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let section = "default";
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("#")) section = line.slice(1).trim().toLowerCase();
    else if (line.includes(":")) (sections[section] ??= {})[line.slice(0, line.indexOf(":"))] = line.slice(line.indexOf(":") + 1).trim();
  }
  return sections;
}

const find = (info: Record<string, Record<string, string>>, field: string) => {
  for (const section of Object.values(info)) if (section[field] !== undefined) return section[field];
  return undefined;
};
const numberOrNull = (value: string | undefined) => (value === undefined || Number.isNaN(Number(value)) ? null : Number(value));

export async function testRedis(target: RedisTarget) {
  const started = Date.now();
  const [pong, info] = await sendAll(target, [["PING"], ["INFO", "server"]]);
  const latencyMs = Date.now() - started;
  const parsed = parseInfo(String(info ?? ""));
  return {
    latencyMs,
    serverVersion: find(parsed, "redis_version") ?? "unknown",
    details: { ping: String(pong), mode: find(parsed, "redis_mode") ?? "unknown" },
  };
}

export async function serverInfo(target: RedisTarget) {
  const [info, size] = await sendAll(target, [["INFO"], ["DBSIZE"]]);
  const parsed = parseInfo(String(info ?? ""));
  return {
    server: {
      version: find(parsed, "redis_version") ?? "unknown",
      mode: find(parsed, "redis_mode") ?? null,
      uptimeSeconds: numberOrNull(find(parsed, "uptime_in_seconds")),
    },
    clients: { connected: numberOrNull(find(parsed, "connected_clients")) },
    keys: Number(size ?? 0),
    memory: {
      usedBytes: numberOrNull(find(parsed, "used_memory")),
      usedHuman: find(parsed, "used_memory_human") ?? null,
      peakBytes: numberOrNull(find(parsed, "used_memory_peak")),
      maxBytes: numberOrNull(find(parsed, "maxmemory")),
      policy: find(parsed, "maxmemory_policy") ?? null,
      fragmentationRatio: numberOrNull(find(parsed, "mem_fragmentation_ratio")),
    },
    keyspace: parsed.keyspace ?? {},
  };
}

/** One SCAN step (never KEYS): the next cursor ("0" when done) and the keys found, with their types. */
export async function scanKeys(
  target: RedisTarget,
  { cursor, match, count, type }: { cursor: string; match: string; count: number; type?: string },
) {
  const [reply] = await sendAll(target, [["SCAN", cursor, "MATCH", match, "COUNT", String(count), ...(type ? ["TYPE", type] : [])]]);
  const [next, keys] = reply as [string, string[]];
  const types =
    keys.length > 0
      ? await sendAll(
          target,
          keys.map((key): Command => ["TYPE", key]),
        )
      : [];
  return { cursor: String(next), keys: keys.map((key, i) => ({ key, type: String(types[i]) })) };
}

type Value = string | Record<string, string> | string[] | { member: string; score: number }[] | null;

const pairs = (flat: string[]) => {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};

/**
 * Key `key` with its type, TTL (seconds; -1 none) and value: a string (cut at the byte limit), or one
 * page of a hash, list, set or sorted set (`offset`/`count` for lists and sorted sets, `cursor` for hashes and sets).
 */
export async function readKey(
  target: RedisTarget,
  key: string,
  { offset, count, cursor }: { offset: number; count: number; cursor: string },
) {
  const [type, ttl] = (await sendAll(target, [
    ["TYPE", key],
    ["TTL", key],
  ])) as [string, number];
  if (type === "none") throw new ApiError(404, { detail: "No such key." });
  let value: Value = null;
  let length: number | null = null;
  let next: string | null = null;
  let truncated = false;
  const stop = String(offset + count - 1);
  if (type === "string") {
    const [size, text] = (await sendAll(target, [
      ["STRLEN", key],
      ["GETRANGE", key, "0", String(target.maxBytes - 1)],
    ])) as [number, string];
    [length, value, truncated] = [size, text, size > target.maxBytes];
  } else if (type === "hash") {
    const [size, [cur, flat]] = (await sendAll(target, [
      ["HLEN", key],
      ["HSCAN", key, cursor, "COUNT", String(count)],
    ])) as [number, [string, string[]]];
    [length, value, next] = [size, Object.fromEntries(pairs(flat)), cur === "0" ? null : cur];
  } else if (type === "list") {
    const [size, items] = (await sendAll(target, [
      ["LLEN", key],
      ["LRANGE", key, String(offset), stop],
    ])) as [number, string[]];
    [length, value] = [size, items];
  } else if (type === "set") {
    const [size, [cur, members]] = (await sendAll(target, [
      ["SCARD", key],
      ["SSCAN", key, cursor, "COUNT", String(count)],
    ])) as [number, [string, string[]]];
    [length, value, next] = [size, members, cur === "0" ? null : cur];
  } else if (type === "zset") {
    const [size, flat] = (await sendAll(target, [
      ["ZCARD", key],
      ["ZRANGE", key, String(offset), stop, "WITHSCORES"],
    ])) as [number, string[]];
    [length, value] = [size, pairs(flat).map(([member, score]) => ({ member, score: Number(score) }))];
  }
  if (Array.isArray(value)) {
    const kept = capBytes(value as unknown[], target.maxBytes);
    truncated ||= kept.length < value.length;
    value = kept as Value;
  }
  return { key, type, ttl: Number(ttl), length, value, cursor: next, truncated };
}

export type NewValue =
  | { type: "string"; value: string }
  | { type: "hash"; value: Record<string, string> }
  | { type: "list" | "set"; value: string[] }
  | { type: "zset"; value: { member: string; score: number }[] };

/** Replaces `key` with `value` (and a TTL, or none) in one MULTI/EXEC. */
export async function writeKey(target: RedisTarget, key: string, next: NewValue, ttlSeconds: number | undefined) {
  const commands: Command[] = [["DEL", key]];
  if (next.type === "string") commands.push(["SET", key, next.value]);
  else if (next.type === "hash") commands.push(["HSET", key, ...Object.entries(next.value).flat()]);
  else if (next.type === "zset") commands.push(["ZADD", key, ...next.value.flatMap(({ member, score }) => [String(score), member])]);
  else commands.push([next.type === "list" ? "RPUSH" : "SADD", key, ...next.value]);
  if (ttlSeconds !== undefined) commands.push(["EXPIRE", key, String(ttlSeconds)]);
  await sendAll(target, commands, { atomic: true });
}

export async function deleteKey(target: RedisTarget, key: string): Promise<boolean> {
  const [removed] = await sendAll(target, [["DEL", key]]);
  return Number(removed) > 0;
}

/**
 * Keys for an import: those named, or those SCAN finds for `match` (at most `maxKeys`), each with
 * its type, TTL and whole value. Hashes only: one column per field; otherwise key, type, ttl, value.
 */
export async function collectKeys(target: RedisTarget, { keys, match, maxKeys }: { keys?: string[]; match?: string; maxKeys: number }) {
  let names = keys ?? [];
  if (!keys) {
    const found = new Set<string>();
    let cursor = "0";
    for (let round = 0; round < 1_000; round++) {
      const [reply] = await sendAll(target, [["SCAN", cursor, "MATCH", match ?? "*", "COUNT", "500"]]);
      const [next, batch] = reply as [string, string[]];
      for (const key of batch) found.add(key);
      if (found.size > maxKeys)
        throw new ApiError(422, { code: "RESULT_TOO_LARGE", detail: `More than ${maxKeys} keys match; narrow the pattern.` });
      cursor = String(next);
      if (cursor === "0") break;
    }
    names = [...found].sort();
  }
  if (names.length === 0) throw new ApiError(422, { code: "EMPTY_FILE", detail: "No keys to import." });
  const meta = await sendAll(
    target,
    names.flatMap((key): Command[] => [
      ["TYPE", key],
      ["TTL", key],
    ]),
  );
  const types = names.map((_, i) => String(meta[2 * i]));
  const reads = names.map((key, i): Command => {
    const type = types[i];
    if (type === "hash") return ["HGETALL", key];
    if (type === "list") return ["LRANGE", key, "0", "-1"];
    if (type === "set") return ["SMEMBERS", key];
    if (type === "zset") return ["ZRANGE", key, "0", "-1", "WITHSCORES"];
    return type === "string" ? ["GET", key] : ["TYPE", key];
  });
  const values = await sendAll(target, reads);
  const hashes = types.every((type) => type === "hash");
  const rows = names.map((key, i) => {
    const raw = values[i];
    if (hashes) return { key, ...Object.fromEntries(pairs(raw as string[])) };
    const type = types[i]!;
    const value =
      type === "string"
        ? (raw as string)
        : type === "hash"
          ? JSON.stringify(Object.fromEntries(pairs(raw as string[])))
          : type === "zset"
            ? JSON.stringify(pairs(raw as string[]).map(([member, score]) => ({ member, score: Number(score) })))
            : type === "list" || type === "set"
              ? JSON.stringify(raw)
              : null;
    return { key, type, ttl: Number(meta[2 * i + 1]), value };
  });
  return rows as Record<string, string | number | null>[];
}
