// Browsing a Postgres data source through the Worker (the test stack's own Neon gateway): catalog, read-only queries, paging, caps, import.
import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { createSource, postgresBody, type Source } from "../../support/data-sources.ts";
import { expectProblem } from "../../support/problem.ts";

const schema = `ds_sample_${crypto.randomUUID().slice(0, 8)}`;
let owner: Person;
let slug: string;
let source: Source;
let base: string;

beforeAll(async () => {
  const db = createDb(env);
  await db.batch([
    db.execute(sql.raw(`CREATE SCHEMA ${schema}`)),
    db.execute(
      sql.raw(
        `CREATE TABLE ${schema}.orders (id serial PRIMARY KEY, customer text NOT NULL, total numeric(10, 2), paid boolean DEFAULT false, placed_at timestamptz DEFAULT now(), meta jsonb)`,
      ),
    ),
    db.execute(sql.raw(`CREATE INDEX orders_customer_idx ON ${schema}.orders (customer)`)),
    db.execute(sql.raw(`CREATE VIEW ${schema}.big_orders AS SELECT id, customer, total FROM ${schema}.orders WHERE total > 100`)),
    // A function that lifts the statement timeout for the rest of the transaction, as a source's own code might.
    db.execute(
      sql.raw(
        `CREATE FUNCTION ${schema}.lift() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT set_config('statement_timeout', '0', true) $$`,
      ),
    ),
    db.execute(
      sql.raw(
        `INSERT INTO ${schema}.orders (customer, total, paid, meta) SELECT 'c' || (g % 7), g * 10.5, g % 2 = 0, jsonb_build_object('n', g) FROM generate_series(1, 30) g`,
      ),
    ),
  ]);
  owner = await person("pg-owner");
  slug = await team(owner);
  source = await createSource(owner, slug, postgresBody());
  base = `/api/v1/orgs/${slug}/data-sources/${source.id}`;
});

const query = (body: Record<string, unknown>, who: Person = owner) => call(`${base}/query`, { method: "POST", token: who.token, body });

interface Page {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  nextOffset: number | null;
  truncated: boolean;
}

describe("the catalog", () => {
  it("lists schemas with their table and view counts", async () => {
    const { data } = await json<{ data: { name: string; tables: number; views: number }[] }>(
      await call(`${base}/schemas`, { token: owner.token }),
      200,
    );
    expect(data.find((s) => s.name === schema)).toEqual({ name: schema, tables: 1, views: 1 });
    expect(data.map((s) => s.name)).not.toContain("pg_catalog");
  });

  it("lists tables and views with columns, types and indexes", async () => {
    const { data } = await json<{
      data: {
        name: string;
        kind: string;
        columns: { name: string; type: string; nullable: boolean }[];
        indexes: { name: string; primary: boolean }[];
      }[];
    }>(await call(`${base}/schemas/${schema}/tables`, { token: owner.token }), 200);
    const orders = data.find((t) => t.name === "orders")!;
    expect(orders.kind).toBe("table");
    expect(orders.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
      ["id", "integer", false],
      ["customer", "text", false],
      ["total", "numeric(10,2)", true],
      ["paid", "boolean", true],
      ["placed_at", "timestamp with time zone", true],
      ["meta", "jsonb", true],
    ]);
    expect(orders.indexes.map((i) => [i.name, i.primary]).sort()).toEqual([
      ["orders_customer_idx", false],
      ["orders_pkey", true],
    ]);
    expect(data.find((t) => t.name === "big_orders")?.kind).toBe("view");
  });

  it("lets a viewer browse the catalog but not query", async () => {
    const viewer = await person("pg-viewer");
    await addMember(owner, slug, viewer, "viewer");
    await json(await call(`${base}/schemas`, { token: viewer.token }), 200);
    await expectProblem(await query({ sql: "SELECT 1" }, viewer), 403, "FORBIDDEN");
  });
});

describe("read-only queries", () => {
  it("answers typed columns and JSON values, paged by offset with nextOffset", async () => {
    const first = await json<Page>(
      await query({ sql: `SELECT id, customer, total, paid, meta FROM ${schema}.orders ORDER BY id`, limit: 10 }),
      200,
    );
    expect(first.columns).toEqual([
      { name: "id", type: "integer" },
      { name: "customer", type: "text" },
      { name: "total", type: "numeric" },
      { name: "paid", type: "boolean" },
      { name: "meta", type: "jsonb" },
    ]);
    expect(first.rows[0]).toEqual([1, "c1", "10.50", false, { n: 1 }]);
    expect(first.nextOffset).toBe(10);
    const last = await json<Page>(await query({ sql: `SELECT id FROM ${schema}.orders ORDER BY id;`, offset: 25, limit: 10 }), 200);
    expect(last.rows.map((r) => r[0])).toEqual([26, 27, 28, 29, 30]);
    expect(last.nextOffset).toBeNull();
  });

  it("runs EXPLAIN and SHOW too", async () => {
    const shown = await json<Page>(await query({ sql: "SHOW transaction_read_only" }), 200);
    expect(shown.rows).toEqual([["on"]]);
    const plan = await json<Page>(await query({ sql: `EXPLAIN SELECT * FROM ${schema}.orders` }), 200);
    expect(plan.rows.length).toBeGreaterThan(0);
  });

  it.each([
    ["an UPDATE", `UPDATE ${schema}.orders SET total = 0`],
    ["a DELETE hidden in a comment-led statement", `/* harmless */ DELETE FROM ${schema}.orders`],
    ["a DROP", `DROP TABLE ${schema}.orders`],
    ["SELECT INTO (refused by the read-only transaction)", `SELECT * INTO ${schema}.copy FROM ${schema}.orders`],
    ["a data-modifying WITH (refused by Postgres)", `WITH gone AS (DELETE FROM ${schema}.orders RETURNING id) SELECT count(*) FROM gone`],
    ["nextval (a write inside a SELECT)", `SELECT nextval('${schema}.orders_id_seq')`],
  ])("refuses %s with 422 QUERY_NOT_READ_ONLY and writes nothing", async (_, text) => {
    await expectProblem(await query({ sql: text }), 422, "QUERY_NOT_READ_ONLY");
    const count = await json<Page>(await query({ sql: `SELECT count(*)::int, sum(total)::text FROM ${schema}.orders` }), 200);
    expect(count.rows[0]).toEqual([30, "4882.50"]);
  });

  it("refuses several statements at once, so none can end the read-only transaction", async () => {
    await expectProblem(await query({ sql: `SELECT 1; COMMIT; DELETE FROM ${schema}.orders` }), 422, "QUERY_FAILED");
    // Semicolons inside strings, identifiers, comments and dollar quotes are not statement ends.
    const quoted = await json<Page>(await query({ sql: `SELECT ';' AS "a;b", $x$;$x$ AS c -- ;\n` }), 200);
    expect(quoted.rows).toEqual([[";", ";"]]);
  });

  it("reports a SQL error as 422 QUERY_FAILED with Postgres' message", async () => {
    const problem = await expectProblem(await query({ sql: `SELECT nope FROM ${schema}.orders` }), 422, "QUERY_FAILED");
    expect(problem.detail).toContain("nope");
  });

  it("caps a huge result: 200,000 rows cost one page, and pages stay under the byte limit", async () => {
    const page = await json<Page>(
      await query({ sql: "SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 200000) g", limit: 1000 }),
      200,
    );
    expect(page.rows.length).toBe(1000);
    expect(page.nextOffset).toBe(1000);
    const wide = await json<Page>(
      await query({ sql: "SELECT g, repeat('x', 100000) AS pad FROM generate_series(1, 1000) g", limit: 1000 }),
      200,
    );
    expect(wide.truncated).toBe(true);
    expect(wide.rows.length).toBeLessThan(1000);
    expect(wide.nextOffset).toBe(wide.rows.length);
    await expectProblem(await query({ sql: "SELECT repeat('x', 5000000) AS huge" }), 422, "RESULT_TOO_LARGE");
  });

  it("validates the body", async () => {
    await expectProblem(await query({ sql: "", limit: 5000 }), 400, "VALIDATION_FAILED");
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources/not-a-uuid/query`, { method: "POST", token: owner.token, body: { sql: "SELECT 1" } }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("answers a Redis source on a Postgres route with 422 DATA_SOURCE_WRONG_KIND", async () => {
    const redis = await createSource(owner, slug, {
      kind: "redis",
      name: `r-${crypto.randomUUID().slice(0, 6)}`,
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
    });
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources/${redis.id}/schemas`, { token: owner.token }),
      422,
      "DATA_SOURCE_WRONG_KIND",
    );
  });

  it("answers another tenant's source as a 404", async () => {
    const stranger = await person("pg-stranger");
    await expectProblem(await call(`${base}/schemas`, { token: stranger.token }), 404, "NOT_FOUND");
    await expectProblem(await query({ sql: "SELECT 1" }, stranger), 404, "NOT_FOUND");
  });
});

/** The seeded table as a separate connection (the app's own database client) reads it. */
async function seeded() {
  const result = await createDb(env).execute(
    sql.raw(`SELECT count(*)::int AS n, coalesce(sum(total), 0)::text AS total FROM ${schema}.orders`),
  );
  return result.rows[0];
}

describe("the attacks of issue 18", () => {
  it.each([
    ["a non-ASCII dollar-quote tag", (t: string) => `SELECT $é$ ' $é$; COMMIT; INSERT INTO ${t} (customer, total) VALUES ('x', 1)`],
    ["an identifier ending in a dollar-quote-like tag", (t: string) => `SELECT 1 AS é$x$; COMMIT; DELETE FROM ${t}`],
    ["a plain second statement after COMMIT", (t: string) => `SELECT 1; COMMIT; UPDATE ${t} SET total = 0`],
  ])("refuses several statements hidden by %s, and the table is unchanged", async (_, build) => {
    const before = await seeded();
    await expectProblem(await query({ sql: build(`${schema}.orders`) }), 422, "QUERY_FAILED");
    expect(await seeded()).toEqual(before);
    expect(before).toEqual({ n: 30, total: "4882.50" });
  });

  it.each([
    ["set_config lifting the timeout", "SELECT set_config('statement_timeout', '0', true), pg_sleep(10)"],
    ["SET", "SET statement_timeout = 0"],
    ["transaction control", "COMMIT"],
    ["COPY", "COPY (SELECT 1) TO STDOUT"],
    ["LISTEN", "LISTEN datacrafted"],
    ["pg_notify", "SELECT pg_notify('datacrafted', 'x')"],
    ["an advisory lock", "SELECT pg_advisory_lock(42)"],
    ["pg_terminate_backend", "SELECT pg_terminate_backend(pg_backend_pid())"],
  ])("refuses %s before sending it (422 QUERY_NOT_ALLOWED)", async (_, text) => {
    await expectProblem(await query({ sql: text }), 422, "QUERY_NOT_ALLOWED");
  });

  it("keeps the timeout when the query's own function lifts it, and leaves no backend running", async () => {
    const marker = `ds-timeout-${crypto.randomUUID()}`;
    // The first row (MOVE) runs lift(); without re-arming, FETCH would then sleep for a minute with no timeout.
    const text = `SELECT ${schema}.lift(), pg_sleep(2), '${marker}' FROM generate_series(1, 30)`;
    await expectProblem(await query({ sql: text, offset: 1, limit: 10 }), 422, "QUERY_TIMEOUT");
    const db = createDb(env);
    let running = -1;
    for (let i = 0; i < 40 && running !== 0; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 250));
      const result = await db.execute(
        sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE ${`%${marker}%`} AND query NOT LIKE '%pg_stat_activity%'`,
      );
      running = Number(result.rows[0]!.n);
    }
    expect(running).toBe(0);
  });

  it("does not let a member open the breaker with failing queries", async () => {
    const member = await person("pg-breaker");
    await addMember(owner, slug, member, "member");
    for (let i = 0; i < 7; i++) {
      const failing = await query({ sql: i % 2 ? "SELECT pg_terminate_backend(pg_backend_pid())" : "SELECT * FROM no_such_table" }, member);
      expect(failing.status).toBe(422);
    }
    const page = await json<Page>(await query({ sql: "SELECT 1 AS one" }, member), 200);
    expect(page.rows).toEqual([[1]]);
  });
});

describe("importing a query as a dataset", () => {
  it("saves a new profiled dataset version that reads back like an upload", async () => {
    const project = await json<{ id: string }>(
      await call("/api/v1/projects", { method: "POST", token: owner.token, body: { org: slug, name: "Imports" } }),
      201,
    );
    const body = {
      sql: `SELECT id, customer, total::float8 AS total, paid FROM ${schema}.orders ORDER BY id`,
      projectId: project.id,
      name: "orders",
    };
    const response = await call(`${base}/import`, { method: "POST", token: owner.token, body });
    const dataset = await json<{
      id: string;
      name: string;
      version: number;
      format: string;
      rowCount: number;
      columnCount: number;
      profile: { columns: { name: string; type: string; max: unknown }[] };
    }>(response, 201);
    expect(response.headers.get("Location")).toBe(`/api/v1/datasets/${dataset.id}`);
    expect(dataset).toMatchObject({ name: "orders", version: 1, format: "ndjson", rowCount: 30, columnCount: 4 });
    expect(dataset.profile.columns.map((c) => [c.name, c.type])).toEqual([
      ["id", "integer"],
      ["customer", "string"],
      ["total", "number"],
      ["paid", "boolean"],
    ]);
    const got = await json<{ id: string; rowCount: number }>(await call(`/api/v1/datasets/${dataset.id}`, { token: owner.token }), 200);
    expect(got.rowCount).toBe(30);
    const rows = await json<{ rows: Record<string, unknown>[] }>(
      await call(`/api/v1/datasets/${dataset.id}/rows?limit=2`, { token: owner.token }),
      200,
    );
    expect(rows.rows[0]).toMatchObject({ id: 1, customer: "c1", total: 10.5, paid: false });
    // The same rows again are the same dataset; other rows are the next version.
    expect((await call(`${base}/import`, { method: "POST", token: owner.token, body })).status).toBe(200);
    const next = await json<{ version: number }>(
      await call(`${base}/import`, { method: "POST", token: owner.token, body: { ...body, sql: `SELECT id FROM ${schema}.orders` } }),
      201,
    );
    expect(next.version).toBe(2);
  });

  it("refuses a write, and a project in another tenant", async () => {
    const stranger = await person("pg-imp-s");
    const theirs = await json<{ id: string }>(
      await call("/api/v1/projects", { method: "POST", token: stranger.token, body: { name: "Theirs" } }),
      201,
    );
    await expectProblem(
      await call(`${base}/import`, {
        method: "POST",
        token: owner.token,
        body: { sql: `DELETE FROM ${schema}.orders`, projectId: theirs.id, name: "x" },
      }),
      422,
      "QUERY_NOT_READ_ONLY",
    );
    await expectProblem(
      await call(`${base}/import`, { method: "POST", token: owner.token, body: { sql: "SELECT 1 AS a", projectId: theirs.id, name: "x" } }),
      404,
      "NOT_FOUND",
    );
  });
});
