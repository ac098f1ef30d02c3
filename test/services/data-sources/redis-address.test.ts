// Redis URLs of either transport: TCP URLs parse strictly (the path is the database and nothing else), every private-host
// spelling is refused on redis:// as on https://, and pipeline command names are checked as Redis will read them.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../src/lib/problem.ts";
import { checkedRedisUrl, parseRedisUrl, transportOf } from "../../../src/services/data-sources/redis-address.ts";
import { canonicalName, classify, refusal } from "../../../src/services/data-sources/redis-commands.ts";

const problemOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, code: error.code, errors: error.errors };
    throw error;
  }
  throw new Error("no problem raised");
};

describe("parseRedisUrl", () => {
  it("reads host, port, user, password, database and TLS", () => {
    expect(parseRedisUrl("rediss://analyst:p%40ss:w@Cache.Example.com:6380/3", "body.url")).toEqual({
      host: "cache.example.com",
      port: 6380,
      username: "analyst",
      password: "p@ss:w",
      db: 3,
      tls: true,
    });
    expect(parseRedisUrl("redis://:secret@10.0.0.5", "body.url")).toMatchObject({
      port: 6379,
      db: 0,
      username: undefined,
      password: "secret",
    });
    expect(parseRedisUrl("redis://[::1]:7000/", "body.url")).toMatchObject({ host: "::1", port: 7000, db: 0, tls: false });
  });

  it.each([
    ["redis://cache.example.com/eval/return%201/0", "a path that is not a database"],
    ["redis://cache.example.com/0/x", "a second path segment"],
    ["redis://cache.example.com/0?db=3", "a query string"],
    ["redis://cache.example.com/0#frag", "a fragment"],
    ["redis://cache.example.com:99999/0", "a port out of range"],
    ["redis://cache.example.com:0/0", "port 0"],
    ["redis://cache.example.com:6379x/0", "a port that is not a number"],
    ["redis://u:%zz@cache.example.com/0", "a bad % escape"],
    ["redis://a.example.com,b.example.com/0", "two hosts"],
    ["redis://a@b@cache.example.com/0", "two userinfos"],
    ["redis:///0", "no host"],
    ["redis://cache.example.com/-1", "a negative database"],
  ])("refuses %s (%s) with a 400 naming the field", (url) => {
    expect(problemOf(() => parseRedisUrl(url, "body.url"))).toMatchObject({
      status: 400,
      code: "VALIDATION_FAILED",
      errors: [expect.objectContaining({ path: "body.url" })],
    });
  });

  it("tells the transports apart by scheme", () => {
    expect(transportOf("redis://h/0")).toBe("tcp");
    expect(transportOf("REDISS://h/0")).toBe("tcp");
    expect(transportOf("https://eu1-x.upstash.io")).toBe("upstash-rest");
  });
});

describe("checkedRedisUrl and the network policy", () => {
  it.each([
    "redis://2130706433:6379/0",
    "redis://0x7f000001/0",
    "redis://127.1/0",
    "redis://0177.0.0.1/0",
    "rediss://[::1]:6380/0",
    "redis://[::ffff:127.0.0.1]/0",
    "redis://10.0.0.8/0",
    "redis://169.254.169.254/0",
    "redis://100.64.0.1/0",
    "redis://[fd00::1]/0",
    "redis://localhost/0",
    "redis://metadata.google.internal/0",
    "http://2130706433/",
    "https://127.1",
  ])("refuses %s unless private addresses are allowed", (url) => {
    expect(problemOf(() => checkedRedisUrl(url, false, "body.url"))).toMatchObject({ status: 422, code: "DATA_SOURCE_ADDRESS_REFUSED" });
    expect(checkedRedisUrl(url, true, "body.url").url.length).toBeGreaterThan(0);
  });

  it("answers the canonical URL with its database, and a bare origin for REST", () => {
    expect(checkedRedisUrl("redis://u:p@Cache.Example.com/4", false, "body.url")).toEqual({
      transport: "tcp",
      url: "redis://u:p@cache.example.com:6379/4",
    });
    expect(checkedRedisUrl("https://eu1-x.upstash.io/", false, "body.url")).toEqual({
      transport: "upstash-rest",
      url: "https://eu1-x.upstash.io",
    });
  });

  it("refuses an Upstash URL with a path (every call would run the command it spells)", () => {
    expect(problemOf(() => checkedRedisUrl("http://cache.example.com/eval/return%201/0?", true, "body.url"))).toMatchObject({
      status: 400,
      code: "VALIDATION_FAILED",
    });
  });
});

describe("pipeline command names", () => {
  it("checks the name Redis will read: ASCII letters only, case-blind", () => {
    expect(canonicalName("hGetAll")).toBe("HGETALL");
    expect(classify("get")).toBe("read");
    expect(classify("Set", ["k", "v"])).toBe("write");
    // "ſ" upper-cases to "S" in JavaScript; Redis would not take it for SET.
    expect(canonicalName("ſet")).toBeUndefined();
    expect(classify("ſet", ["k", "v"])).toBe("refused");
    for (const name of [" GET", "GET ", "GET\r\nFLUSHALL", "CONFIG|GET", "", "G\u0000ET"]) expect(classify(name)).toBe("refused");
  });

  it.each([
    [["SELECT", "3"]],
    [["select", "0"]],
    [["MOVE", "k", "1"]],
    [["SWAPDB", "0", "1"]],
    [["MIGRATE", "h", "6379", "k", "3", "1000"]],
    [["COPY", "a", "b", "DB", "3"]],
    [["copy", "a", "b", "replace", "Db", "3"]],
  ])("refuses %j as reaching another database", ([name, ...args]) => {
    expect(refusal(name!, args)).toMatch(/would reach another database/);
  });

  it("still allows COPY inside the database, even of a key named DB", () => {
    expect(refusal("COPY", ["DB", "b", "REPLACE"])).toBeUndefined();
  });
});
