// POST …/query with bind parameters and `explain`, and the query history it leaves (through the Worker and the Neon gateway).
import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { createSource, postgresBody, type Source } from "../../support/data-sources.ts";
import { eventually } from "../../support/eventually.ts";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

const schema = `ds_params_${crypto.randomUUID().slice(0, 8)}`;
let owner: Person;
let slug: string;
let source: Source;
let base: string;

beforeAll(async () => {
  const db = createDb(env);
  await db.batch([
    db.execute(sql.raw(`CREATE SCHEMA ${schema}`)),
    db.execute(sql.raw(`CREATE TABLE ${schema}.orders (id serial PRIMARY KEY, customer text NOT NULL, total numeric(10, 2))`)),
    db.execute(sql.raw(`INSERT INTO ${schema}.orders (customer, total) SELECT 'c' || (g % 4), g * 10 FROM generate_series(1, 20) g`)),
  ]);
  owner = await person("qp-owner");
  slug = await team(owner);
  source = await createSource(owner, slug, postgresBody());
  base = `/api/v1/orgs/${slug}/data-sources/${source.id}`;
});

afterAll(async () => {
  await createDb(env).execute(sql.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
});

const query = (body: Record<string, unknown>, who: Person = owner) => call(`${base}/query`, { method: "POST", token: who.token, body });

interface Page {
  rows: unknown[][];
  nextOffset: number | null;
}
interface Plan {
  plan: { Plan: { "Node Type": string; "Relation Name"?: string; Filter?: string } }[];
  durationMs: number;
}

async function seeded() {
  const result = await createDb(env).execute(sql.raw(`SELECT count(*)::int AS n, sum(total)::text AS total FROM ${schema}.orders`));
  return result.rows[0];
}

describe("bind parameters", () => {
  it("binds $1…$n apart from the text, typed by where they stand, and pages as before", async () => {
    const text = `SELECT id, customer FROM ${schema}.orders WHERE total > $1 AND customer = $2 ORDER BY id`;
    const page = await json<Page>(await query({ sql: text, params: [100, "c1"], limit: 2 }), 200);
    expect(page.rows).toEqual([
      [13, "c1"],
      [17, "c1"],
    ]);
    expect(page.nextOffset).toBeNull();
    const paged = await json<Page>(await query({ sql: `SELECT g FROM generate_series(1, $1::int) g`, params: ["30"], offset: 25 }), 200);
    expect(paged.rows.map((r) => r[0])).toEqual([26, 27, 28, 29, 30]);
  });

  it("keeps a parameter a value: quotes and SQL in it match nothing and run nothing", async () => {
    const attack = `c1' OR '1'='1`;
    const page = await json<Page>(await query({ sql: `SELECT id FROM ${schema}.orders WHERE customer = $1`, params: [attack] }), 200);
    expect(page.rows).toEqual([]);
    const echoed = await json<Page>(
      await query({ sql: "SELECT $1::text AS a, $2::boolean AS b, $3::int AS c", params: ["'; DELETE", true, null] }),
      200,
    );
    expect(echoed.rows).toEqual([["'; DELETE", true, null]]);
    expect(await seeded()).toEqual({ n: 20, total: "2100.00" });
  });

  it("answers 400 naming body.params when the count does not match the query's $n", async () => {
    const missing = await expectProblem(await query({ sql: "SELECT $1::int + $2::int", params: [1] }), 400, "VALIDATION_FAILED");
    expect(missing.errors).toEqual([{ path: "body.params", message: "expected 2 parameters" }]);
    await expectProblem(await query({ sql: "SELECT 1", params: [1] }), 400, "VALIDATION_FAILED");
    await expectProblem(await query({ sql: "SELECT $1", params: [{ nested: true }] }), 400, "VALIDATION_FAILED");
    await expectProblem(await query({ sql: "SELECT $1", params: Array.from({ length: 101 }, () => 1) }), 400, "VALIDATION_FAILED");
  });
});

describe("explain", () => {
  it("answers the plan as JSON without running the query", async () => {
    const plan = await json<Plan>(
      await query({ sql: `SELECT * FROM ${schema}.orders WHERE total > $1`, params: [50], explain: true }),
      200,
    );
    expect(plan.plan[0]!.Plan).toMatchObject({ "Node Type": "Seq Scan", "Relation Name": "orders" });
    // A custom plan, made for the value bound to $1.
    expect(plan.plan[0]!.Plan.Filter).toContain("'50'::numeric");
    const verbose = await json<{ plan: { Plan: { Output?: string[] } }[] }>(
      await query({ sql: `SELECT id FROM ${schema}.orders`, explain: { verbose: true } }),
      200,
    );
    expect(verbose.plan[0]!.Plan.Output).toEqual(["id"]);
  });

  it.each([
    ["explain.analyze", { sql: "SELECT 1", explain: { analyze: true } }],
    ["EXPLAIN ANALYZE in the text", { sql: `EXPLAIN ANALYZE SELECT * FROM ${"pg_class"}` }],
    ["EXPLAIN (ANALYZE) in the text", { sql: "EXPLAIN (ANALYZE, FORMAT JSON) SELECT 1" }],
    ["EXPLAIN (analyze false) in the text", { sql: "EXPLAIN (analyze false) SELECT 1" }],
    ["explain of a SHOW", { sql: "SHOW search_path", explain: true }],
  ])("refuses %s with 422 QUERY_NOT_ALLOWED", async (_, body) => {
    await expectProblem(await query(body), 422, "QUERY_NOT_ALLOWED");
  });

  it("refuses to explain a write, and the table is unchanged", async () => {
    await expectProblem(await query({ sql: `DELETE FROM ${schema}.orders`, explain: true }), 422, "QUERY_NOT_READ_ONLY");
    expect(await seeded()).toEqual({ n: 20, total: "2100.00" });
  });
});

interface Entry {
  id: string;
  sql: string;
  params: unknown[];
  explain: boolean;
  status: string;
  errorCode: string | null;
  durationMs: number;
  rowCount: number | null;
}

describe("query history", () => {
  it("records each of your queries after it answers: text, params, duration, rows, status", async () => {
    const analyst = await person("qp-analyst");
    await addMember(owner, slug, analyst, "member");
    const marker = `history-${crypto.randomUUID().slice(0, 8)}`;
    await json(await query({ sql: `SELECT $1::text AS marker, g FROM generate_series(1, 3) g`, params: [marker] }, analyst), 200);
    await expectProblem(await query({ sql: `SELECT nope_${marker.replace("-", "_")}` }, analyst), 422, "QUERY_FAILED");
    await json(await query({ sql: `SELECT 1 AS "${marker}"`, explain: true }, analyst), 200);

    const history = await eventually(
      async () => (await json<{ data: Entry[] }>(await call(`${base}/history`, { token: analyst.token }), 200)).data,
      (entries) => entries.length >= 3,
    );
    expect(history.map((e) => [e.status, e.explain, e.rowCount, e.errorCode])).toEqual([
      ["succeeded", true, null, null],
      ["failed", false, null, "QUERY_FAILED"],
      ["succeeded", false, 3, null],
    ]);
    expect(history[2]).toMatchObject({ sql: `SELECT $1::text AS marker, g FROM generate_series(1, 3) g`, params: [marker] });
    for (const entry of history) expect(entry.durationMs).toBeGreaterThanOrEqual(0);

    // Filtered by status, paged by cursor with no entry twice.
    const failed = await json<{ data: Entry[] }>(await call(`${base}/history?status=failed`, { token: analyst.token }), 200);
    expect(failed.data.map((e) => e.errorCode)).toEqual(["QUERY_FAILED"]);
    const first = await json<{ data: Entry[]; nextCursor: string | null }>(
      await call(`${base}/history?limit=2`, { token: analyst.token }),
      200,
    );
    const second = await json<{ data: Entry[]; nextCursor: string | null }>(
      await call(`${base}/history?limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`, { token: analyst.token }),
      200,
    );
    expect([...first.data, ...second.data].map((e) => e.id)).toEqual(history.map((e) => e.id));
    expect(second.nextCursor).toBeNull();

    // Yours only: the owner's history on the same source does not hold the analyst's queries.
    const owners = await json<{ data: Entry[] }>(await call(`${base}/history?limit=100`, { token: owner.token }), 200);
    expect(owners.data.some((e) => e.sql.includes(marker) || e.params.includes(marker))).toBe(false);
  });

  it("answers another tenant 404 and a bad status 400", async () => {
    const stranger = await person("qp-stranger");
    await expectProblem(await call(`${base}/history`, { token: stranger.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`${base}/history?status=maybe`, { token: owner.token }), 400, "VALIDATION_FAILED");
  });
});
