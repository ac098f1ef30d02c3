// The data-source registry through the Worker: CRUD, pagination, roles, tenants, no credential in any response or audit row, connection tests.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { auditLogs, dataSources } from "../../../src/db/schema.ts";
import worker from "../../../src/index.ts";
import { addMember, call, json, person, team } from "../../support/harness.ts";
import { createSource, deadUrl, postgresBody, redisBody, type Source, wrongPassword } from "../../support/data-sources.ts";
import { expectProblem } from "../../support/problem.ts";
import { eventually } from "../../support/eventually.ts";

const secrets = () => [new URL(env.DATABASE_URL).password, env.UPSTASH_REDIS_REST_TOKEN];

describe("registering", () => {
  it("stores a Postgres source sealed, and shows where it points but never the password", async () => {
    const ada = await person("ds-create");
    const slug = await team(ada);
    const response = await call(`/api/v1/orgs/${slug}/data-sources`, {
      method: "POST",
      token: ada.token,
      body: postgresBody({ name: "Warehouse" }),
    });
    const text = await response.clone().text();
    const source = await json<Source>(response, 201);
    expect(response.headers.get("Location")).toBe(`/api/v1/orgs/${slug}/data-sources/${source.id}`);
    expect(source).toMatchObject({
      name: "Warehouse",
      kind: "postgres",
      connection: { user: "datacrafted", database: "datacrafted", hasPassword: true, endpoint: env.NEON_FETCH_ENDPOINT },
    });
    for (const secret of secrets()) expect(text).not.toContain(secret);
    expect(text).not.toContain("connectionString");

    const [row] = await createDb(env).select().from(dataSources).where(eq(dataSources.id, source.id));
    expect(row!.secret).toMatch(/^v1\./);
    expect(row!.keyId).toBe(env.DATA_SOURCE_KEYS.split(":")[0]);
    expect(JSON.stringify(row)).not.toContain(new URL(env.DATABASE_URL).password);
  });

  it("stores a Redis source with hasToken, and refuses a duplicate name with 409", async () => {
    const ada = await person("ds-redis");
    const slug = await team(ada);
    const source = await createSource(ada, slug, redisBody({ name: "Cache" }));
    expect(source.connection).toEqual({ transport: "upstash-rest", url: env.UPSTASH_REDIS_REST_URL, hasToken: true });
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources`, { method: "POST", token: ada.token, body: redisBody({ name: "Cache" }) }),
      409,
      "CONFLICT",
    );
  });

  it("names every invalid field, and mixes of kinds are refused", async () => {
    const ada = await person("ds-bad");
    const slug = await team(ada);
    const bad = await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources`, {
        method: "POST",
        token: ada.token,
        body: { kind: "postgres", name: "", connectionString: "mysql://x", token: "t" },
      }),
      400,
      "VALIDATION_FAILED",
    );
    expect(bad.errors!.length).toBeGreaterThan(0);
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources`, { method: "POST", token: ada.token, body: { kind: "mongo", name: "x" } }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("writes an audit row naming the action and the source, with no credential in it", async () => {
    const ada = await person("ds-audit");
    const slug = await team(ada);
    const source = await createSource(ada, slug, postgresBody());
    await call(`/api/v1/orgs/${slug}/data-sources/${source.id}`, {
      method: "PATCH",
      token: ada.token,
      body: { connectionString: wrongPassword() },
    });
    const db = createDb(env);
    // Audit rows land through a queue (batches of up to a second).
    const rows = await eventually(
      () => db.select().from(auditLogs).where(eq(auditLogs.targetId, source.id)),
      (found) => found.length >= 2,
    );
    expect(rows.map((row) => row.action).sort()).toEqual(["createDataSource", "updateDataSource"]);
    const text = JSON.stringify(rows);
    for (const secret of [...secrets(), "not-the-password"]) expect(text).not.toContain(secret);
  });
});

describe("reading, listing, changing, deleting", () => {
  it("pages newest first with a Link and filters by kind", async () => {
    const ada = await person("ds-list");
    const slug = await team(ada);
    for (const name of ["a", "b", "c"]) await createSource(ada, slug, postgresBody({ name }));
    await createSource(ada, slug, redisBody({ name: "r" }));
    const first = await call(`/api/v1/orgs/${slug}/data-sources?limit=2`, { token: ada.token });
    const page1 = await json<{ data: Source[]; nextCursor: string }>(first, 200);
    expect(page1.data.map((s) => s.name)).toEqual(["r", "c"]);
    expect(first.headers.get("Link")).toContain('rel="next"');
    const page2 = await json<{ data: Source[]; nextCursor: null }>(
      await call(`/api/v1/orgs/${slug}/data-sources?limit=2&cursor=${page1.nextCursor}`, { token: ada.token }),
      200,
    );
    expect(page2.data.map((s) => s.name)).toEqual(["b", "a"]);
    expect(page2.nextCursor).toBeNull();
    const redis = await json<{ data: Source[] }>(await call(`/api/v1/orgs/${slug}/data-sources?kind=redis`, { token: ada.token }), 200);
    expect(redis.data.map((s) => s.name)).toEqual(["r"]);
  });

  it("renames, replaces credentials (re-sealed), refuses the other kind's fields, and deletes", async () => {
    const ada = await person("ds-patch");
    const slug = await team(ada);
    const source = await createSource(ada, slug, postgresBody());
    const base = `/api/v1/orgs/${slug}/data-sources/${source.id}`;
    const renamed = await json<Source>(await call(base, { method: "PATCH", token: ada.token, body: { name: "Renamed" } }), 200);
    expect(renamed.name).toBe("Renamed");
    await expectProblem(await call(base, { method: "PATCH", token: ada.token, body: { token: "x" } }), 400, "VALIDATION_FAILED");
    const moved = await json<Source>(await call(base, { method: "PATCH", token: ada.token, body: { endpoint: null } }), 200);
    expect(moved.connection.endpoint).toBeNull();
    expect((await json<Source>(await call(base, { token: ada.token }), 200)).connection.endpoint).toBeNull();
    expect((await call(base, { method: "DELETE", token: ada.token })).status).toBe(204);
    await expectProblem(await call(base, { token: ada.token }), 404, "NOT_FOUND");
  });

  it("lets viewers read but not register, change or test; members test but do not manage", async () => {
    const [owner, viewer, member] = [await person("ds-o"), await person("ds-v"), await person("ds-m")];
    const slug = await team(owner);
    await addMember(owner, slug, viewer, "viewer");
    await addMember(owner, slug, member, "member");
    const source = await createSource(owner, slug, postgresBody());
    const base = `/api/v1/orgs/${slug}/data-sources/${source.id}`;
    expect((await json<Source>(await call(base, { token: viewer.token }), 200)).id).toBe(source.id);
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources`, { method: "POST", token: viewer.token, body: postgresBody() }),
      403,
      "FORBIDDEN",
    );
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources`, { method: "POST", token: member.token, body: postgresBody() }),
      403,
      "FORBIDDEN",
    );
    await expectProblem(await call(base, { method: "PATCH", token: member.token, body: { name: "x" } }), 403, "FORBIDDEN");
    await expectProblem(await call(base, { method: "DELETE", token: member.token }), 403, "FORBIDDEN");
    await expectProblem(await call(`${base}/test`, { method: "POST", token: viewer.token }), 403, "FORBIDDEN");
    await json(await call(`${base}/test`, { method: "POST", token: member.token }), 200);
  });

  it("answers another tenant's source as a 404, for every route", async () => {
    const [owner, stranger] = [await person("ds-t-o"), await person("ds-t-s")];
    const slug = await team(owner);
    const source = await createSource(owner, slug, postgresBody());
    const theirs = await team(stranger);
    for (const org of [slug, theirs]) {
      const base = `/api/v1/orgs/${org}/data-sources/${source.id}`;
      await expectProblem(await call(base, { token: stranger.token }), 404, "NOT_FOUND");
      await expectProblem(await call(base, { method: "PATCH", token: stranger.token, body: { name: "mine" } }), 404, "NOT_FOUND");
      await expectProblem(await call(`${base}/test`, { method: "POST", token: stranger.token }), 404, "NOT_FOUND");
      await expectProblem(await call(base, { method: "DELETE", token: stranger.token }), 404, "NOT_FOUND");
    }
    await expectProblem(await call(`/api/v1/orgs/${slug}/data-sources`, { token: stranger.token }), 404, "NOT_FOUND");
  });
});

describe("testing a connection", () => {
  it("answers a Postgres source with latency and server version", async () => {
    const ada = await person("ds-test-pg");
    const slug = await team(ada);
    const source = await createSource(ada, slug, postgresBody());
    const result = await json<{ ok: true; latencyMs: number; serverVersion: string; details: Record<string, string> }>(
      await call(`/api/v1/orgs/${slug}/data-sources/${source.id}/test`, { method: "POST", token: ada.token }),
      200,
    );
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.serverVersion).toMatch(/^\d+(\.\d+)?/);
    expect(result.details).toMatchObject({ database: expect.any(String), user: expect.any(String) });
    const after = await json<{ lastTestedAt: string | null }>(
      await call(`/api/v1/orgs/${slug}/data-sources/${source.id}`, { token: ada.token }),
      200,
    );
    expect(after.lastTestedAt).not.toBeNull();
  });

  it("says what the role may do beyond reading, as the database reports it to a separate connection", async () => {
    const ada = await person("ds-test-role");
    const slug = await team(ada);
    const source = await createSource(ada, slug, postgresBody());
    const result = await json<{ role: Record<string, boolean>; warnings: string[] }>(
      await call(`/api/v1/orgs/${slug}/data-sources/${source.id}/test`, { method: "POST", token: ada.token }),
      200,
    );
    const {
      rows: [expected],
    } = await createDb(env).execute(sql`SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = current_user`);
    expect(result.role).toMatchObject({
      superuser: expected!.rolsuper,
      createRole: expected!.rolcreaterole,
      bypassRls: expected!.rolbypassrls,
    });
    // The test stack's role owns the app's tables, so it can write them: the warning says so.
    expect(result.role.writeTables).toBe(true);
    expect(result.warnings).toContain(
      "The role may insert, update, delete or truncate rows of some tables; only the read-only transaction stops it here.",
    );
    expect(result.warnings.some((warning) => warning.startsWith("The role is a superuser"))).toBe(expected!.rolsuper === true);
  });

  it("answers a Redis source with latency and server version", async () => {
    const ada = await person("ds-test-redis");
    const slug = await team(ada);
    const source = await createSource(ada, slug, redisBody());
    const result = await json<{ latencyMs: number; serverVersion: string; details: { ping: string } }>(
      await call(`/api/v1/orgs/${slug}/data-sources/${source.id}/test`, { method: "POST", token: ada.token }),
      200,
    );
    expect(result.details.ping).toBe("PONG");
    expect(result.serverVersion.length).toBeGreaterThan(0);
  });

  it("names a wrong Postgres password (the gateway answers 28P01) without echoing it", async () => {
    const ada = await person("ds-wrongpw");
    const slug = await team(ada);
    const source = await createSource(ada, slug, postgresBody({ connectionString: wrongPassword() }));
    const problem = await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources/${source.id}/test`, { method: "POST", token: ada.token }),
      502,
      "DATA_SOURCE_AUTH_FAILED",
    );
    expect(problem.detail).toContain("password authentication failed");
    expect(JSON.stringify(problem)).not.toContain("not-the-password");
  });

  it("names a wrong Redis token", async () => {
    const ada = await person("ds-wrongtoken");
    const slug = await team(ada);
    const source = await createSource(ada, slug, redisBody({ token: "wrong-token-wrong-token" }));
    const problem = await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources/${source.id}/test`, { method: "POST", token: ada.token }),
      502,
      "DATA_SOURCE_AUTH_FAILED",
    );
    expect(JSON.stringify(problem)).not.toContain("wrong-token-wrong-token");
  });

  it("answers an unreachable host with 502 DATA_SOURCE_UNREACHABLE, then opens the circuit", async () => {
    const ada = await person("ds-dead");
    const slug = await team(ada);
    const pg = await createSource(ada, slug, postgresBody({ endpoint: `${deadUrl()}/sql` }));
    const redis = await createSource(ada, slug, redisBody({ url: deadUrl() }));
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources/${redis.id}/test`, { method: "POST", token: ada.token }),
      502,
      "DATA_SOURCE_UNREACHABLE",
    );
    for (let i = 0; i < 5; i++) {
      await expectProblem(
        await call(`/api/v1/orgs/${slug}/data-sources/${pg.id}/test`, { method: "POST", token: ada.token }),
        502,
        "DATA_SOURCE_UNREACHABLE",
      );
    }
    const open = await call(`/api/v1/orgs/${slug}/data-sources/${pg.id}/test`, { method: "POST", token: ada.token });
    expect(Number(open.headers.get("Retry-After"))).toBeGreaterThan(0);
    await expectProblem(open, 503, "DATA_SOURCE_CIRCUIT_OPEN");
    // New settings close it again.
    await json(
      await call(`/api/v1/orgs/${slug}/data-sources/${pg.id}`, {
        method: "PATCH",
        token: ada.token,
        body: { endpoint: env.NEON_FETCH_ENDPOINT },
      }),
      200,
    );
    await json(await call(`/api/v1/orgs/${slug}/data-sources/${pg.id}/test`, { method: "POST", token: ada.token }), 200);
  });
});

/** A request to an instance of the Worker configured as in production: DATA_SOURCE_ALLOW_PRIVATE=false. */
async function strict(path: string, token: string, init: { method?: string; body?: unknown } = {}) {
  const ctx = createExecutionContext();
  const request = new Request(`https://api.test${path}`, {
    method: init.method ?? "GET",
    headers: {
      Authorization: `Bearer ${token}`,
      "CF-Connecting-IP": `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
      ...(init.body ? { "Content-Type": "application/json" } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const response = await worker.fetch(request, { ...env, DATA_SOURCE_ALLOW_PRIVATE: "false" }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe("the network policy (issue 18)", () => {
  it.each([
    ["the test stack's own loopback database", () => postgresBody(), "body.connectionString"],
    [
      "2130706433",
      () => postgresBody({ connectionString: "postgresql://u:p@2130706433:5432/db", endpoint: undefined }),
      "body.connectionString",
    ],
    [
      "0x7f000001",
      () => postgresBody({ connectionString: "postgresql://u:p@0x7f000001/db", endpoint: undefined }),
      "body.connectionString",
    ],
    ["127.1", () => postgresBody({ connectionString: "postgresql://u:p@127.1/db", endpoint: undefined }), "body.connectionString"],
    [
      "[::ffff:127.0.0.1]",
      () => postgresBody({ connectionString: "postgresql://u:p@[::ffff:127.0.0.1]/db", endpoint: undefined }),
      "body.connectionString",
    ],
    [
      "the metadata address",
      () => postgresBody({ connectionString: "postgresql://u:p@169.254.169.254/db", endpoint: undefined }),
      "body.connectionString",
    ],
    [
      "a private Neon endpoint",
      () => postgresBody({ connectionString: "postgresql://u:p@db.example.com/db", endpoint: "http://10.0.0.7:4444/sql" }),
      "body.endpoint",
    ],
    ["a loopback Redis URL in hex", () => redisBody({ url: "http://0x7f000001:8079" }), "body.url"],
    ["a CGNAT Redis URL", () => redisBody({ url: "https://100.64.1.1" }), "body.url"],
  ])("refuses to register %s with 422 DATA_SOURCE_ADDRESS_REFUSED naming the field", async (_, body, field) => {
    const ada = await person("ds-net");
    const slug = await team(ada);
    const problem = await expectProblem(
      await strict(`/api/v1/orgs/${slug}/data-sources`, ada.token, { method: "POST", body: body() }),
      422,
      "DATA_SOURCE_ADDRESS_REFUSED",
    );
    expect(problem.errors!.map((error) => error.path)).toEqual([field]);
  });

  it("refuses to test a source stored while private addresses were allowed: no port scanning through …/test", async () => {
    const ada = await person("ds-net-test");
    const slug = await team(ada);
    const source = await createSource(ada, slug, redisBody());
    await expectProblem(
      await strict(`/api/v1/orgs/${slug}/data-sources/${source.id}/test`, ada.token, { method: "POST" }),
      422,
      "DATA_SOURCE_ADDRESS_REFUSED",
    );
    const pg = await createSource(ada, slug, postgresBody());
    await expectProblem(
      await strict(`/api/v1/orgs/${slug}/data-sources/${pg.id}/query`, ada.token, { method: "POST", body: { sql: "SELECT 1" } }),
      422,
      "DATA_SOURCE_ADDRESS_REFUSED",
    );
    // The same sources, where the policy allows them, answer.
    await json(await call(`/api/v1/orgs/${slug}/data-sources/${source.id}/test`, { method: "POST", token: ada.token }), 200);
  });

  it("passes a public host (registering does not connect)", async () => {
    const ada = await person("ds-net-ok");
    const slug = await team(ada);
    const response = await strict(`/api/v1/orgs/${slug}/data-sources`, ada.token, {
      method: "POST",
      body: { kind: "postgres", name: "public", connectionString: "postgresql://u:p@DB.Example.com:6543/ware%20house?sslmode=require" },
    });
    const source = await json<Source>(response, 201);
    expect(source.connection).toMatchObject({ host: "db.example.com", port: 6543, database: "ware house", sslmode: "require" });
  });
});

describe("strict parsing of connections (issue 18)", () => {
  it.each([
    [
      "a port of 99999",
      { connectionString: "postgresql://u:p@db.example.com:99999/db" },
      "body.connectionString",
      "port must be a number from 1 to 65535",
    ],
    [
      "a bad % escape in the password",
      { connectionString: "postgresql://u:%zz@db.example.com/db" },
      "body.connectionString",
      "has a malformed % escape",
    ],
    [
      "a bad % escape in the database",
      { connectionString: "postgresql://u:p@db.example.com/%E0%A4%A" },
      "body.connectionString",
      "has a malformed % escape",
    ],
    [
      "a host parameter",
      { connectionString: "postgresql://u:p@db.example.com/db?host=127.0.0.1" },
      "body.connectionString",
      expect.stringContaining('parameter "host"'),
    ],
    [
      "an endpoint with a query",
      { connectionString: "postgresql://u:p@db.example.com/db", endpoint: "http://db.example.com/sql?x=1" },
      "body.endpoint",
      "must not have a query string",
    ],
  ])("answers %s with 400 naming the field", async (_, fields, path, message) => {
    const ada = await person("ds-parse");
    const slug = await team(ada);
    const problem = await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources`, {
        method: "POST",
        token: ada.token,
        body: { kind: "postgres", name: "p", ...fields },
      }),
      400,
      "VALIDATION_FAILED",
    );
    expect(problem.errors).toContainEqual({ path, message });
  });

  it("answers a Redis URL with a path (which made every call run EVAL) with 400 naming body.url, on create and on PATCH", async () => {
    const ada = await person("ds-parse-r");
    const slug = await team(ada);
    const url = `${env.UPSTASH_REDIS_REST_URL}/eval/cmV0dXJuIDE=/0?`;
    const problem = await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources`, { method: "POST", token: ada.token, body: redisBody({ url }) }),
      400,
      "VALIDATION_FAILED",
    );
    expect(problem.errors!.map((error) => error.path)).toContain("body.url");
    const source = await createSource(ada, slug, redisBody());
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources/${source.id}`, { method: "PATCH", token: ada.token, body: { url } }),
      400,
      "VALIDATION_FAILED",
    );
  });
});
