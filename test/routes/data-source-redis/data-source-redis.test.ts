// Browsing a Redis data source through the Worker over each transport (the machine's Redis over TCP, the test stack's
// Upstash gateway over REST): SCAN, keys of every type, writes, info, pipelines, import.
import { beforeAll, describe, expect, it } from "vitest";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { createSource, redisTransports } from "../../support/data-sources.ts";
import { expectProblem } from "../../support/problem.ts";

interface KeyValue {
  key: string;
  type: string;
  ttl: number;
  length: number | null;
  value: unknown;
  cursor: string | null;
  truncated: boolean;
}

describe.each(redisTransports())("a Redis source over $transport", ({ transport, body: sourceBody }) => {
  const ns = `dsr-${crypto.randomUUID().slice(0, 8)}`;
  let admin: Person;
  let member: Person;
  let viewer: Person;
  let slug: string;
  let base: string;

  const pipeline = (commands: string[][], who: Person = admin) =>
    call(`${base}/pipeline`, { method: "POST", token: who.token, body: { commands } });
  const key = (name: string) => `${base}/keys/${encodeURIComponent(`${ns}:${name}`)}`;

  beforeAll(async () => {
    [admin, member, viewer] = [await person("rd-a"), await person("rd-m"), await person("rd-v")];
    slug = await team(admin);
    await addMember(admin, slug, member, "member");
    await addMember(admin, slug, viewer, "viewer");
    const source = await createSource(admin, slug, sourceBody());
    expect(source.connection.transport).toBe(transport);
    base = `/api/v1/orgs/${slug}/data-sources/${source.id}`;
    await json(
      await pipeline([
        ["SET", `${ns}:greeting`, "hello wörld"],
        ["EXPIRE", `${ns}:greeting`, "600"],
        ["HSET", `${ns}:user:1`, "name", "Ada", "city", "London"],
        ["HSET", `${ns}:user:2`, "name", "Grace", "city", "Arlington"],
        ["RPUSH", `${ns}:queue`, "a", "b", "c", "d"],
        ["SADD", `${ns}:tags`, "x", "y"],
        ["ZADD", `${ns}:scores`, "10", "ada", "20", "grace"],
      ]),
      200,
    );
  });

  describe("scanning", () => {
    it("follows the SCAN cursor to the end, with each key's type", async () => {
      const found = new Map<string, string>();
      let cursor = "0";
      // The tests' Redis holds every suite's keys (rate limits too): steps of 1,000 stay well inside the viewer's limit.
      for (let i = 0; i < 50; i++) {
        const page = await json<{ cursor: string; keys: { key: string; type: string }[] }>(
          await call(`${base}/keys?match=${encodeURIComponent(`${ns}:*`)}&count=1000&cursor=${cursor}`, { token: viewer.token }),
          200,
        );
        for (const { key: name, type } of page.keys) found.set(name, type);
        cursor = page.cursor;
        if (cursor === "0") break;
      }
      expect(Object.fromEntries(found)).toEqual({
        [`${ns}:greeting`]: "string",
        [`${ns}:user:1`]: "hash",
        [`${ns}:user:2`]: "hash",
        [`${ns}:queue`]: "list",
        [`${ns}:tags`]: "set",
        [`${ns}:scores`]: "zset",
      });
    });

    it("validates the cursor", async () => {
      await expectProblem(await call(`${base}/keys?cursor=abc`, { token: viewer.token }), 400, "VALIDATION_FAILED");
    });
  });

  describe("reading keys", () => {
    it("reads a string with its TTL", async () => {
      const value = await json<KeyValue>(await call(key("greeting"), { token: viewer.token }), 200);
      expect(value).toMatchObject({ type: "string", value: "hello wörld", truncated: false });
      expect(value.ttl).toBeGreaterThan(500);
    });

    it("reads a hash, a page of a list, a set and a sorted set", async () => {
      expect((await json<KeyValue>(await call(key("user:1"), { token: viewer.token }), 200)).value).toEqual({
        name: "Ada",
        city: "London",
      });
      const list = await json<KeyValue>(await call(`${key("queue")}?offset=1&count=2`, { token: viewer.token }), 200);
      expect(list).toMatchObject({ type: "list", ttl: -1, length: 4, value: ["b", "c"] });
      expect(((await json<KeyValue>(await call(key("tags"), { token: viewer.token }), 200)).value as string[]).sort()).toEqual(["x", "y"]);
      expect((await json<KeyValue>(await call(key("scores"), { token: viewer.token }), 200)).value).toEqual([
        { member: "ada", score: 10 },
        { member: "grace", score: 20 },
      ]);
    });

    it("answers a missing key with 404", async () => {
      await expectProblem(await call(key("nope"), { token: viewer.token }), 404, "NOT_FOUND");
    });
  });

  describe("writing keys (admins and owners)", () => {
    it("sets each type with a TTL, and deletes", async () => {
      const written = await json<KeyValue>(
        await call(key("new-hash"), { method: "PUT", token: admin.token, body: { type: "hash", value: { a: "1" }, ttlSeconds: 60 } }),
        200,
      );
      expect(written).toMatchObject({ type: "hash", value: { a: "1" } });
      expect(written.ttl).toBeGreaterThan(0);
      const replaced = await json<KeyValue>(
        await call(key("new-hash"), { method: "PUT", token: admin.token, body: { type: "zset", value: [{ member: "m", score: 1.5 }] } }),
        200,
      );
      expect(replaced).toMatchObject({ type: "zset", ttl: -1, value: [{ member: "m", score: 1.5 }] });
      expect((await call(key("new-hash"), { method: "DELETE", token: admin.token })).status).toBe(204);
      await expectProblem(await call(key("new-hash"), { method: "DELETE", token: admin.token }), 404, "NOT_FOUND");
    });

    it("refuses members and viewers", async () => {
      for (const who of [member, viewer]) {
        await expectProblem(
          await call(key("greeting"), { method: "PUT", token: who.token, body: { type: "string", value: "hacked" } }),
          403,
          "FORBIDDEN",
        );
        await expectProblem(await call(key("greeting"), { method: "DELETE", token: who.token }), 403, "FORBIDDEN");
      }
      await expectProblem(await pipeline([["SET", `${ns}:greeting`, "hacked"]], member), 403, "FORBIDDEN");
    });

    it("validates the value against its type", async () => {
      await expectProblem(
        await call(key("bad"), { method: "PUT", token: admin.token, body: { type: "list", value: [] } }),
        400,
        "VALIDATION_FAILED",
      );
      await expectProblem(
        await call(key("bad"), { method: "PUT", token: admin.token, body: { type: "zset", value: [{ member: "m" }] } }),
        400,
        "VALIDATION_FAILED",
      );
    });
  });

  describe("pipelines", () => {
    it("runs reads for members, each with its own result or error", async () => {
      const { results } = await json<{ results: { result?: unknown; error?: string }[] }>(
        await pipeline(
          [
            ["GET", `${ns}:greeting`],
            ["HGET", `${ns}:user:2`, "name"],
            ["LLEN", `${ns}:queue`],
            ["LLEN", `${ns}:greeting`],
          ],
          member,
        ),
        200,
      );
      expect(results.slice(0, 3)).toEqual([{ result: "hello wörld" }, { result: "Grace" }, { result: 4 }]);
      // Redis says WRONGTYPE; the embedded engine words it its own way.
      expect(results[3]!.error).toMatch(/WRONGTYPE|does not contain a list/);
    });

    it.each([["FLUSHALL"], ["CONFIG", "GET", "*"], ["KEYS", "*"], ["EVAL", "return 1", "0"], ["SHUTDOWN"]])(
      "refuses %s with 422 REDIS_COMMAND_NOT_ALLOWED",
      async (...command) => {
        await expectProblem(await pipeline([["GET", "x"], command]), 422, "REDIS_COMMAND_NOT_ALLOWED");
      },
    );
  });

  describe("databases other than the source's (issue 18)", () => {
    it.each([
      ["COPY", "k", "dst", "DB", "3"],
      ["copy", "k", "dst", "REPLACE", "db", "0"],
      ["SELECT", "1"],
      ["MOVE", "k", "2"],
      ["SWAPDB", "0", "1"],
    ])("refuses %s naming a database, before sending anything", async (...command) => {
      const marker = `${ns}:never-${crypto.randomUUID().slice(0, 6)}`;
      await expectProblem(await pipeline([["SET", marker, "1"], command]), 422, "REDIS_COMMAND_NOT_ALLOWED");
      const { results } = await json<{ results: unknown[] }>(await pipeline([["EXISTS", marker]], member), 200);
      expect(results).toEqual([{ result: 0 }]);
    });

    it("still copies within the source's own database", async () => {
      const { results } = await json<{ results: unknown[] }>(
        await pipeline([
          ["COPY", `${ns}:greeting`, `${ns}:greeting-copy`, "REPLACE"],
          ["GET", `${ns}:greeting-copy`],
        ]),
        200,
      );
      expect(results).toEqual([{ result: 1 }, { result: "hello wörld" }]);
    });
  });

  describe("server info", () => {
    it("answers the version and a memory summary", async () => {
      const info = await json<{ server: { version: string }; keys: number; memory: Record<string, unknown> }>(
        await call(`${base}/info`, { token: viewer.token }),
        200,
      );
      expect(info.server.version.length).toBeGreaterThan(0);
      expect(info.keys).toBeGreaterThanOrEqual(6);
      expect(info.memory).toHaveProperty("usedBytes");
    });
  });

  describe("importing keys as a dataset", () => {
    it("turns hashes into one row each, a column per field", async () => {
      const project = await json<{ id: string }>(
        await call("/api/v1/projects", { method: "POST", token: member.token, body: { org: slug, name: "Redis imports" } }),
        201,
      );
      const response = await call(`${base}/import-keys`, {
        method: "POST",
        token: member.token,
        body: { projectId: project.id, name: "users", match: `${ns}:user:*` },
      });
      const dataset = await json<{ id: string; rowCount: number; profile: { columns: { name: string }[] } }>(response, 201);
      expect(dataset.rowCount).toBe(2);
      expect(dataset.profile.columns.map((c) => c.name).sort()).toEqual(["city", "key", "name"]);
      const rows = await json<{ rows: Record<string, unknown>[] }>(
        await call(`/api/v1/datasets/${dataset.id}/rows`, { token: member.token }),
        200,
      );
      expect(rows.rows).toContainEqual({ key: `${ns}:user:1`, name: "Ada", city: "London" });
      const mixed = await json<{ rowCount: number; profile: { columns: { name: string }[] } }>(
        await call(`${base}/import-keys`, {
          method: "POST",
          token: member.token,
          body: { projectId: project.id, name: "mixed", keys: [`${ns}:greeting`, `${ns}:queue`] },
        }),
        201,
      );
      expect(mixed.profile.columns.map((c) => c.name)).toEqual(["key", "type", "ttl", "value"]);
      await expectProblem(
        await call(`${base}/import-keys`, {
          method: "POST",
          token: member.token,
          body: { projectId: project.id, name: "too-many", match: `${ns}:*`, maxKeys: 2 },
        }),
        422,
        "RESULT_TOO_LARGE",
      );
    });

    it("answers another tenant's source as a 404", async () => {
      const stranger = await person("rd-s");
      await expectProblem(await call(`${base}/keys`, { token: stranger.token }), 404, "NOT_FOUND");
      await expectProblem(await pipeline([["GET", "x"]], stranger), 404, "NOT_FOUND");
    });
  });
});
