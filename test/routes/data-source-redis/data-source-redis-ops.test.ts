// Typed key operations, the slow log, memory by key and publish on a Redis source, over each transport; a viewer reads,
// writes and publish are for admins, another tenant's source is a 404.
import { createClient } from "@redis/client";
import { beforeAll, describe, expect, it } from "vitest";
import { createSource, redisTcpUrl, redisTransports } from "../../support/data-sources.ts";
import { eventually } from "../../support/eventually.ts";
import { addMember, call, json, type Person, person, team } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface OpResult {
  key: string;
  op: string;
  result: unknown;
}

/** The machine's Redis, straight (no Worker), to check what the routes did. */
async function direct() {
  const client = createClient({ url: redisTcpUrl()!, RESP: 2, socket: { reconnectStrategy: false } });
  client.on("error", () => {});
  await client.connect();
  return client;
}

describe.each(redisTransports())("typed ops over $transport", ({ body: sourceBody }) => {
  const ns = `ops-${crypto.randomUUID().slice(0, 8)}`;
  let admin: Person;
  let member: Person;
  let viewer: Person;
  let base: string;
  const name = (key: string) => `${ns}:${key}`;
  const op = (key: string, body: Record<string, unknown>, who: Person = admin) =>
    call(`${base}/keys/${encodeURIComponent(name(key))}/ops`, { method: "POST", token: who.token, body });
  const result = async (key: string, body: Record<string, unknown>, who: Person = admin) =>
    (await json<OpResult>(await op(key, body, who), 200)).result;
  const pipeline = (commands: string[][]) => call(`${base}/pipeline`, { method: "POST", token: admin.token, body: { commands } });

  beforeAll(async () => {
    [admin, member, viewer] = [await person("op-a"), await person("op-m"), await person("op-v")];
    const slug = await team(admin);
    await addMember(admin, slug, member, "member");
    await addMember(admin, slug, viewer, "viewer");
    base = `/api/v1/orgs/${slug}/data-sources/${(await createSource(admin, slug, sourceBody())).id}`;
    await json(
      await pipeline([
        ["XADD", name("events"), "1-1", "kind", "signup", "user", "ada"],
        ["XADD", name("events"), "2-1", "kind", "login", "user", "ada"],
        ["XADD", name("events"), "3-1", "kind", "login", "user", "grace"],
        ["SADD", name("a"), "1", "2", "3"],
        ["SADD", name("b"), "2", "3", "4"],
      ]),
      200,
    );
  });

  it("strings: set with a condition and TTL, get, incrby", async () => {
    expect(await result("s", { op: "set", value: "v1", ttlSeconds: 120 })).toEqual({ written: true });
    expect(await result("s", { op: "set", value: "v2", condition: "nx" })).toEqual({ written: false });
    expect(await result("s", { op: "get" }, viewer)).toBe("v1");
    expect(await result("counter", { op: "incrby", by: 5 })).toBe(5);
    expect(await result("counter", { op: "incrby", by: -2 })).toBe(3);
    const key = await json<{ ttl: number }>(await call(`${base}/keys/${encodeURIComponent(name("s"))}`, { token: viewer.token }), 200);
    expect(key.ttl).toBeGreaterThan(100);
  });

  it("hashes: hset, hget, hincrby, hdel", async () => {
    expect(await result("h", { op: "hset", fields: { name: "Ada", visits: "1" } })).toEqual({ added: 2 });
    expect(await result("h", { op: "hincrby", field: "visits", by: 41 })).toBe(42);
    expect(await result("h", { op: "hdel", fields: ["name", "nope"] })).toEqual({ removed: 1 });
    expect(await result("h", { op: "hget", fields: ["visits", "name"] }, viewer)).toEqual({ visits: "42", name: null });
  });

  it("lists: rpush, lpush, linsert, lset, lrem, lrange", async () => {
    expect(await result("l", { op: "rpush", values: ["b", "c", "b"] })).toEqual({ length: 3 });
    expect(await result("l", { op: "lpush", values: ["a"] })).toEqual({ length: 4 });
    expect(await result("l", { op: "linsert", position: "after", pivot: "c", value: "d" })).toEqual({ length: 5 });
    expect(await result("l", { op: "linsert", position: "before", pivot: "zz", value: "x" })).toEqual({ length: -1 });
    expect(await result("l", { op: "lset", index: 0, value: "A" })).toEqual({ written: true });
    expect(await result("l", { op: "lrem", count: 0, value: "b" })).toEqual({ removed: 2 });
    expect(await result("l", { op: "lrange", start: 0, stop: -1 }, viewer)).toEqual(["A", "c", "d"]);
    await expectProblem(await op("l", { op: "lset", index: 99, value: "x" }), 422, "REDIS_COMMAND_FAILED");
  });

  it("sets: sinter, sunion, sdiff with other keys; sadd, srem", async () => {
    expect(await result("a", { op: "sinter", with: [name("b")] }, viewer)).toEqual(["2", "3"]);
    expect(await result("a", { op: "sunion", with: [name("b")] }, viewer)).toEqual(["1", "2", "3", "4"]);
    expect(await result("a", { op: "sdiff", with: [name("b")] }, viewer)).toEqual(["1"]);
    expect(await result("c", { op: "sadd", members: ["x", "y", "x"] })).toEqual({ added: 2 });
    expect(await result("c", { op: "srem", members: ["x", "q"] })).toEqual({ removed: 1 });
  });

  it("sorted sets: zincrby, zrem, zrange by rank and by score", async () => {
    for (const [member, by] of [
      ["ada", 10],
      ["grace", 20],
      ["alan", 15],
      ["edsger", 30],
    ] as const)
      await result("z", { op: "zincrby", member, by });
    expect(await result("z", { op: "zincrby", member: "ada", by: 0.5 })).toBe(10.5);
    expect(await result("z", { op: "zrange", by: "rank", start: 0, stop: 1 }, viewer)).toEqual([
      { member: "ada", score: 10.5 },
      { member: "alan", score: 15 },
    ]);
    expect(await result("z", { op: "zrange", by: "rank", start: 0, stop: 0, rev: true }, viewer)).toEqual([
      { member: "edsger", score: 30 },
    ]);
    expect(await result("z", { op: "zrange", by: "score", start: "(10.5", stop: 20 }, viewer)).toEqual([
      { member: "alan", score: 15 },
      { member: "grace", score: 20 },
    ]);
    expect(await result("z", { op: "zrange", by: "score", start: "-inf", stop: "+inf", rev: true, offset: 1, count: 2 }, viewer)).toEqual([
      { member: "grace", score: 20 },
      { member: "alan", score: 15 },
    ]);
    expect(await result("z", { op: "zrem", members: ["edsger", "nobody"] })).toEqual({ removed: 1 });
    await expectProblem(await op("z", { op: "zrange", by: "rank", start: 0.5, stop: 1 }, viewer), 400, "VALIDATION_FAILED");
  });

  it("streams: xrange and xlen", async () => {
    expect(await result("events", { op: "xlen" }, viewer)).toBe(3);
    expect(await result("events", { op: "xrange", start: "2", end: "+", count: 10 }, viewer)).toEqual([
      { id: "2-1", fields: { kind: "login", user: "ada" } },
      { id: "3-1", fields: { kind: "login", user: "grace" } },
    ]);
  });

  it("answers an op on a key of another type with 422 WRONGTYPE", async () => {
    const problem = await expectProblem(await op("h", { op: "lrange" }, viewer), 422, "REDIS_COMMAND_FAILED");
    expect(problem.detail).toMatch(/WRONGTYPE/);
  });

  it("validates the op", async () => {
    await expectProblem(await op("x", { op: "flushall" }), 400, "VALIDATION_FAILED");
    await expectProblem(await op("x", { op: "hset", fields: {} }), 400, "VALIDATION_FAILED");
    await expectProblem(await op("x", { op: "set", value: "v", db: 3 }), 400, "VALIDATION_FAILED");
  });

  it("refuses every write op, publish and the slow log to those below the role", async () => {
    const writes = [
      { op: "set", value: "hacked" },
      { op: "incrby", by: 1 },
      { op: "hset", fields: { a: "1" } },
      { op: "hincrby", field: "a", by: 1 },
      { op: "hdel", fields: ["a"] },
      { op: "lpush", values: ["x"] },
      { op: "rpush", values: ["x"] },
      { op: "linsert", position: "before", pivot: "a", value: "x" },
      { op: "lset", index: 0, value: "x" },
      { op: "lrem", count: 0, value: "x" },
      { op: "sadd", members: ["x"] },
      { op: "srem", members: ["x"] },
      { op: "zincrby", member: "x", by: 1 },
      { op: "zrem", members: ["x"] },
    ];
    for (const who of [viewer, member]) {
      for (const body of writes) await expectProblem(await op("guarded", body, who), 403, "FORBIDDEN");
      await expectProblem(
        await call(`${base}/publish`, { method: "POST", token: who.token, body: { channel: "c", message: "m" } }),
        403,
        "FORBIDDEN",
      );
    }
    await expectProblem(await call(`${base}/slowlog`, { token: viewer.token }), 403, "FORBIDDEN");
    expect(await result("guarded", { op: "get" }, viewer)).toBeNull();
  });

  it("answers another tenant's source as a 404 on every route", async () => {
    const stranger = await person("op-s");
    await expectProblem(await op("s", { op: "get" }, stranger), 404, "NOT_FOUND");
    await expectProblem(await op("s", { op: "set", value: "x" }, stranger), 404, "NOT_FOUND");
    await expectProblem(await call(`${base}/slowlog`, { token: stranger.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`${base}/memory`, { token: stranger.token }), 404, "NOT_FOUND");
    await expectProblem(
      await call(`${base}/publish`, { method: "POST", token: stranger.token, body: { channel: "c", message: "m" } }),
      404,
      "NOT_FOUND",
    );
  });

  it("finds the biggest keys with a bounded SCAN and MEMORY USAGE", async () => {
    await json(await pipeline([["SET", name("big"), "x".repeat(100_000)]]), 200);
    const match = encodeURIComponent(`${ns}:*`);
    const all = await json<{ scan: { scanned: number; complete: boolean }; biggest: { key: string; type: string; bytes: number }[] }>(
      await call(`${base}/memory?match=${match}&budget=10000&top=3`, { token: viewer.token }),
      200,
    );
    expect(all.biggest).toHaveLength(3);
    expect(all.biggest[0]).toMatchObject({ key: name("big"), type: "string" });
    expect(all.biggest[0]!.bytes).toBeGreaterThan(100_000);
    expect(all.biggest[1]!.bytes).toBeLessThanOrEqual(all.biggest[0]!.bytes);
    // A budget of 1 sizes one step's keys, and hands back a cursor to go on from until the scan is complete.
    let cursor = "0";
    let sized = 0;
    let complete = false;
    for (let i = 0; i < 1_000 && !complete; i++) {
      const page = await json<{ scan: { scanned: number; cursor: string; complete: boolean } }>(
        await call(`${base}/memory?match=${match}&budget=1&cursor=${cursor}`, { token: viewer.token }),
        200,
      );
      expect(page.scan.scanned).toBeLessThanOrEqual(10);
      sized += page.scan.scanned;
      ({ cursor, complete } = page.scan);
    }
    expect(complete).toBe(true);
    expect(sized).toBeGreaterThanOrEqual(all.scan.scanned);
  });

  it.runIf(redisTcpUrl())("reads the slow log as Redis keeps it", async () => {
    const redis = await direct();
    try {
      const before = Number(await redis.sendCommand(["SLOWLOG", "LEN"]));
      const log = await json<{ length: number; entries: { id: number; durationMicros: number; command: string[] }[] }>(
        await call(`${base}/slowlog?count=128`, { token: member.token }),
        200,
      );
      const after = (await redis.sendCommand(["SLOWLOG", "GET", "128"])) as [number, number, number, string[]][];
      expect(log.length).toBeGreaterThanOrEqual(Math.min(before, 128));
      const byId = new Map(after.map(([id, , micros, args]) => [Number(id), { durationMicros: Number(micros), command: args }]));
      for (const entry of log.entries) if (byId.has(entry.id)) expect(entry).toMatchObject(byId.get(entry.id)!);
    } finally {
      redis.destroy();
    }
  });

  it.runIf(redisTcpUrl())("publishes to a subscriber (admins)", async () => {
    const subscriber = await direct();
    const channel = `${ns}:channel`;
    const received: string[] = [];
    try {
      await subscriber.subscribe(channel, (message) => void received.push(message));
      const answer = await json<{ receivers: number }>(
        await call(`${base}/publish`, { method: "POST", token: admin.token, body: { channel, message: "hello" } }),
        200,
      );
      expect(answer.receivers).toBe(1);
      expect(
        await eventually(
          async () => received,
          (messages) => messages.length > 0,
        ),
      ).toEqual(["hello"]);
    } finally {
      subscriber.destroy();
    }
  });
});
