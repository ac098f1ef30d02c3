// Redis sources over TCP (redis:// and rediss://): registration parses strictly and never shows the password, the URL's
// database is the only one reached, and failures of the server are stable problems (issue 18).
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { dataSources } from "../../../src/db/schema.ts";
import worker from "../../../src/index.ts";
import { encryptSecret, parseDataSourceKeys } from "../../../src/services/data-sources/secrets.ts";
import { createSource, deadUrl, redisBody, redisTcpBody, redisTcpUrl } from "../../support/data-sources.ts";
import { call, json, person, team } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

const tcp = redisTcpUrl();
const dbOf = (url: string) => Number(new URL(url).pathname.slice(1) || 0);
/** Another logical database of the same server than the tests' own. */
const otherDb = () => (dbOf(tcp!) + 1) % 16;

/** A request to an instance of the Worker configured as in production: DATA_SOURCE_ALLOW_PRIVATE=false. */
async function strict(path: string, token: string, body: unknown) {
  const ctx = createExecutionContext();
  const request = new Request(`https://api.test${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "CF-Connecting-IP": "10.9.7.1" },
    body: JSON.stringify(body),
  });
  const response = await worker.fetch(request, { ...env, DATA_SOURCE_ALLOW_PRIVATE: "false" }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe.runIf(tcp)("Redis sources over TCP", () => {
  it("registers a redis:// URL as transport tcp, showing where it goes but never the password", async () => {
    const ada = await person("rt-reg");
    const slug = await team(ada);
    const url = new URL(tcp!);
    url.username = "analyst";
    url.password = "s3cret-pa55";
    const response = await call(`/api/v1/orgs/${slug}/data-sources`, {
      method: "POST",
      token: ada.token,
      body: redisTcpBody({ url: url.toString() }),
    });
    const text = await response.clone().text();
    const source = await json<{ connection: Record<string, unknown> }>(response, 201);
    expect(source.connection).toEqual({
      transport: "tcp",
      host: "127.0.0.1",
      port: Number(url.port),
      database: dbOf(tcp!),
      user: "analyst",
      hasPassword: true,
      tls: false,
    });
    expect(text).not.toContain("s3cret-pa55");
  });

  it.each([
    ["a path that is not a database", (u: string) => `${u}/eval`],
    ["a query string", (u: string) => `${u}?db=3`],
    ["a port out of range", () => "redis://127.0.0.1:99999/0"],
    ["a bad % escape", () => "redis://u:%zz@127.0.0.1:6379/0"],
    ["two hosts", () => "redis://127.0.0.1,10.0.0.1:6379/0"],
  ])("refuses %s with 400 naming body.url", async (_, url) => {
    const ada = await person("rt-bad");
    const slug = await team(ada);
    const problem = await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources`, { method: "POST", token: ada.token, body: redisTcpBody({ url: url(tcp!) }) }),
      400,
      "VALIDATION_FAILED",
    );
    expect(problem.errors!.map((error) => error.path)).toContain("body.url");
  });

  it("refuses a token beside a redis:// URL and a transport its scheme contradicts", async () => {
    const ada = await person("rt-mix");
    const slug = await team(ada);
    const sources = `/api/v1/orgs/${slug}/data-sources`;
    const withToken = await expectProblem(
      await call(sources, { method: "POST", token: ada.token, body: redisTcpBody({ token: "t" }) }),
      400,
      "VALIDATION_FAILED",
    );
    expect(withToken.errors!.map((error) => error.path)).toContain("body.token");
    await expectProblem(
      await call(sources, { method: "POST", token: ada.token, body: redisTcpBody({ transport: "upstash-rest" }) }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await call(sources, { method: "POST", token: ada.token, body: redisBody({ transport: "tcp" }) }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await call(sources, { method: "POST", token: ada.token, body: redisBody({ token: undefined }) }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it.each([
    "redis://2130706433:6379/0",
    "redis://0x7f000001:6379/0",
    "redis://127.1:6379/0",
    "redis://[::1]:6379/0",
    "redis://[::ffff:127.0.0.1]:6379/0",
    "rediss://169.254.169.254/0",
    "redis://localhost/0",
  ])("refuses to register %s where private addresses are not allowed", async (url) => {
    const ada = await person("rt-net");
    const slug = await team(ada);
    const problem = await expectProblem(
      await strict(`/api/v1/orgs/${slug}/data-sources`, ada.token, redisTcpBody({ url })),
      422,
      "DATA_SOURCE_ADDRESS_REFUSED",
    );
    expect(problem.errors!.map((error) => error.path)).toEqual(["body.url"]);
  });

  it("reaches only the URL's database, whatever the caller sends", async () => {
    const ada = await person("rt-db");
    const slug = await team(ada);
    const own = `/api/v1/orgs/${slug}/data-sources/${(await createSource(ada, slug, redisTcpBody())).id}`;
    const other = `/api/v1/orgs/${slug}/data-sources/${(await createSource(ada, slug, redisTcpBody({}, { db: otherDb() }))).id}`;
    const key = `rt-db-${crypto.randomUUID()}`;
    const pipeline = (base: string, commands: string[][]) =>
      call(`${base}/pipeline`, { method: "POST", token: ada.token, body: { commands } });
    await json(await pipeline(own, [["SET", key, "own"]]), 200);
    expect(await json(await pipeline(other, [["EXISTS", key]]), 200)).toEqual({ results: [{ result: 0 }] });
    await json(await pipeline(other, [["SET", key, "other"]]), 200);
    expect(await json(await pipeline(own, [["GET", key]]), 200)).toEqual({ results: [{ result: "own" }] });
    for (const command of [
      ["SELECT", String(otherDb())],
      ["select", "0"],
      ["MOVE", key, String(otherDb())],
      ["COPY", key, `${key}-c`, "DB", String(otherDb())],
      ["SWAPDB", "0", "1"],
    ])
      await expectProblem(await pipeline(own, [command]), 422, "REDIS_COMMAND_NOT_ALLOWED");
    const ops = await json<{ result: unknown }>(
      await call(`${own}/keys/${key}/ops`, { method: "POST", token: ada.token, body: { op: "get" } }),
      200,
    );
    expect(ops.result).toBe("own");
    await json(await pipeline(other, [["DEL", key]]), 200);
    await json(await pipeline(own, [["DEL", key]]), 200);
  });

  it("answers an unreachable server, refused credentials and a missing database with stable problems", async () => {
    const ada = await person("rt-fail");
    const slug = await team(ada);
    const test = async (url: string) => {
      const source = await createSource(ada, slug, redisTcpBody({ url }));
      return call(`/api/v1/orgs/${slug}/data-sources/${source.id}/test`, { method: "POST", token: ada.token });
    };
    await expectProblem(await test(`redis://127.0.0.1:${new URL(deadUrl()).port}/0`), 502, "DATA_SOURCE_UNREACHABLE");
    const wrong = new URL(tcp!);
    wrong.username = "nobody";
    wrong.password = "not-the-password";
    await expectProblem(await test(wrong.toString()), 502, "DATA_SOURCE_AUTH_FAILED");
    const missing = new URL(tcp!);
    missing.pathname = "/999";
    await expectProblem(await test(missing.toString()), 502, "DATA_SOURCE_ERROR");
    // TLS to a server that speaks plain RESP: the handshake fails, as an outage of the source (never a 500 or a hang).
    const tls = new URL(tcp!.replace(/^redis:/, "rediss:"));
    const response = await test(tls.toString());
    expect([502, 504]).toContain(response.status);
    expect(((await response.json()) as { code: string }).code).toMatch(/^DATA_SOURCE_(UNREACHABLE|TIMEOUT)$/);
  });

  it("answers test with the server's version, and moves a REST source to TCP by PATCH", async () => {
    const ada = await person("rt-patch");
    const slug = await team(ada);
    const source = await createSource(ada, slug, redisBody());
    const base = `/api/v1/orgs/${slug}/data-sources/${source.id}`;
    const moved = await json<{ connection: Record<string, unknown> }>(
      await call(base, { method: "PATCH", token: ada.token, body: { url: tcp } }),
      200,
    );
    expect(moved.connection).toMatchObject({ transport: "tcp", database: dbOf(tcp!) });
    const tested = await json<{ serverVersion: string; details: { ping: string } }>(
      await call(`${base}/test`, { method: "POST", token: ada.token }),
      200,
    );
    expect(tested.details.ping).toBe("PONG");
    expect(tested.serverVersion).toMatch(/^\d+\.\d+/);
    await expectProblem(await call(base, { method: "PATCH", token: ada.token, body: { token: "t" } }), 400, "VALIDATION_FAILED");
    const back = await json<{ connection: Record<string, unknown> }>(
      await call(base, {
        method: "PATCH",
        token: ada.token,
        body: { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN },
      }),
      200,
    );
    expect(back.connection).toEqual({ transport: "upstash-rest", url: env.UPSTASH_REDIS_REST_URL, hasToken: true });
  });

  it("keeps a source sealed before transports existed on Upstash REST", async () => {
    const ada = await person("rt-old");
    const slug = await team(ada);
    const source = await createSource(ada, slug, redisBody());
    // Credentials as they were sealed before this change: a URL and a token, no transport.
    const { keys } = parseDataSourceKeys(env.DATA_SOURCE_KEYS);
    const legacy = { kind: "redis", redis: { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN } };
    await createDb(env)
      .update(dataSources)
      .set({
        secret: await encryptSecret(keys, source.id, JSON.stringify(legacy)),
        display: { url: env.UPSTASH_REDIS_REST_URL, hasToken: true },
      })
      .where(eq(dataSources.id, source.id));
    const base = `/api/v1/orgs/${slug}/data-sources/${source.id}`;
    expect(await json(await call(`${base}/test`, { method: "POST", token: ada.token }), 200)).toMatchObject({
      ok: true,
      details: { ping: "PONG" },
    });
    const renamed = await json<{ connection: Record<string, unknown> }>(
      await call(base, { method: "PATCH", token: ada.token, body: { token: env.UPSTASH_REDIS_REST_TOKEN } }),
      200,
    );
    expect(renamed.connection).toEqual({ transport: "upstash-rest", url: env.UPSTASH_REDIS_REST_URL, hasToken: true });
  });
});
