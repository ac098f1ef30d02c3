// The production Redis client (@upstash/redis) against the local Upstash gateway, on every backend of the run.
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, inject, it } from "vitest";
import { eventually } from "../support/eventually.ts";

describe.each(inject("stacks"))("Upstash gateway on $redis", ({ vars }) => {
  const redis = new Redis({ url: vars.UPSTASH_REDIS_REST_URL, token: vars.UPSTASH_REDIS_REST_TOKEN, retry: false, enableTelemetry: false });
  const key = (name: string) => `test:${crypto.randomUUID()}:${name}`;

  it("sets and gets strings, binary-safe and unicode", async () => {
    const k = key("s");
    expect(await redis.set(k, "héllo ✓ \u0000 end")).toBe("OK");
    expect(await redis.get(k)).toBe("héllo ✓ \u0000 end");
    expect(await redis.incrby(key("n"), 5)).toBe(5);
    expect(await redis.get(key("missing"))).toBeNull();
  });

  it("stores JSON values the client serializes", async () => {
    const k = key("json");
    await redis.set(k, { a: [1, 2], b: "x" });
    expect(await redis.get(k)).toEqual({ a: [1, 2], b: "x" });
  });

  it("works with hashes", async () => {
    const k = key("h");
    expect(await redis.hset(k, { name: "Ada", visits: 3 })).toBe(2);
    expect(await redis.hincrby(k, "visits", 2)).toBe(5);
    expect(await redis.hgetall(k)).toEqual({ name: "Ada", visits: 5 });
    expect(await redis.hget(k, "name")).toBe("Ada");
  });

  it("works with lists, sets and sorted sets", async () => {
    const list = key("l");
    expect(await redis.rpush(list, "a", "b", "c")).toBe(3);
    expect(await redis.lrange(list, 0, -1)).toEqual(["a", "b", "c"]);
    const set = key("set");
    expect(await redis.sadd(set, "x", "y", "x")).toBe(2);
    expect((await redis.smembers(set)).sort()).toEqual(["x", "y"]);
    const zset = key("z");
    await redis.zadd(zset, { score: 2, member: "two" }, { score: 1, member: "one" });
    expect(await redis.zrange(zset, 0, -1)).toEqual(["one", "two"]);
    expect(await redis.zrange(zset, 0, -1, { withScores: true })).toEqual(["one", 1, "two", 2]);
    expect(await redis.zscore(zset, "two")).toBe(2);
  });

  it("expires keys", async () => {
    const k = key("ttl");
    await redis.set(k, "v", { px: 150 });
    const ttl = await redis.pttl(k);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(150);
    // Expired once the TTL has passed: polled, not slept, so a slow machine cannot make the wait too short.
    expect(
      await eventually(
        () => redis.get(k),
        (value) => value === null,
        { intervalMs: 50 },
      ),
    ).toBeNull();
    expect(await redis.ttl(k)).toBe(-2);
  });

  it("runs a pipeline in one request, errors kept in place", async () => {
    const k = key("p");
    const pipeline = redis.pipeline();
    pipeline.set(k, "1");
    pipeline.incr(k);
    pipeline.get(k);
    expect(await pipeline.exec()).toEqual(["OK", 2, 2]);
    const failing = redis.pipeline();
    failing.set(k, "x");
    failing.incr(k);
    expect(await failing.exec({ keepErrors: true })).toEqual([
      { result: "OK", error: undefined },
      { result: undefined, error: expect.stringContaining("not an integer") },
    ]);
  });

  it("runs multi-exec as one transaction", async () => {
    const k = key("m");
    const tx = redis.multi();
    tx.incr(k);
    tx.incr(k);
    tx.get(k);
    expect(await tx.exec()).toEqual([1, 2, 2]);
  });

  it("runs Lua with EVAL, EVALSHA and SCRIPT LOAD, and NOSCRIPT after SCRIPT FLUSH", async () => {
    const k = key("lua");
    const script = "local n = redis.call('INCRBY', KEYS[1], ARGV[1]); redis.call('PEXPIRE', KEYS[1], 60000); return {n, ARGV[2]}";
    expect(await redis.eval(script, [k], [3, "tag"])).toEqual([3, "tag"]);
    const sha = await redis.scriptLoad(script);
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await redis.scriptExists(sha)).toEqual([1]);
    expect(await redis.evalsha(sha, [k], [4, "again"])).toEqual([7, "again"]);
    expect(await redis.pttl(k)).toBeGreaterThan(59_000);
    await redis.scriptFlush();
    await expect(redis.evalsha(sha, [k], [1, "x"])).rejects.toThrow(/NOSCRIPT/);
  });

  it("runs scripts with Upstash's shebang flags (as @upstash/ratelimit sends them), known by the client's hash", async () => {
    const k = key("flags");
    const script = "#!lua flags=allow-key-locking\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])";
    expect(await redis.eval(script, [k], [2])).toBe(2);
    const sha = await redis.scriptLoad(script);
    expect(sha).toBe(
      [...new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(script)))]
        .map((b) => b.toString(16).padStart(2, "0"))
        .join(""),
    );
    expect(await redis.scriptExists(sha)).toEqual([1]);
    expect(await redis.evalsha(sha, [k], [3])).toBe(5);
  });

  it("reports a command error as {error} with HTTP 400", async () => {
    const response = await fetch(vars.UPSTASH_REDIS_REST_URL, {
      method: "POST",
      headers: { Authorization: `Bearer ${vars.UPSTASH_REDIS_REST_TOKEN}` },
      body: JSON.stringify(["NOTACOMMAND", "x"]),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: expect.stringMatching(/^ERR unknown command/) });
  });

  it("encodes strings as base64 only when asked", async () => {
    const k = key("enc");
    await redis.set(k, "plain");
    const ask = (encoding?: string) =>
      fetch(vars.UPSTASH_REDIS_REST_URL, {
        method: "POST",
        headers: { Authorization: `Bearer ${vars.UPSTASH_REDIS_REST_TOKEN}`, ...(encoding ? { "Upstash-Encoding": encoding } : {}) },
        body: JSON.stringify(["GET", k]),
      }).then((r) => r.json());
    expect(await ask()).toEqual({ result: "plain" });
    expect(await ask("base64")).toEqual({ result: btoa("plain") });
  });

  it("refuses a wrong token with 401", async () => {
    const wrong = new Redis({ url: vars.UPSTASH_REDIS_REST_URL, token: "not-the-token-at-all", retry: false, enableTelemetry: false });
    await expect(wrong.get("anything")).rejects.toThrow(/Unauthorized/);
    const response = await fetch(vars.UPSTASH_REDIS_REST_URL, { method: "POST", body: JSON.stringify(["PING"]) });
    expect(response.status).toBe(401);
  });
});
