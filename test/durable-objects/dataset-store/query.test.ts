// DatasetStore.query (unit, over RPC to the real object in workerd): answers equal plain JS over the seeded rows; every write form is
// refused and leaves the store byte-for-byte unchanged; only `dataset` is visible; caps, runaway shapes and the deadline.
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { DatasetStore } from "../../../src/durable-objects/dataset-store/dataset-store.ts";
import {
  checkPlan,
  checkProgram,
  type QueryOutcome,
  type QueryRequest,
  readRolledBack,
} from "../../../src/durable-objects/dataset-store/query.ts";
import { tokenize } from "../../../src/durable-objects/dataset-store/sql-tokens.ts";
import { storeFor } from "../../../src/services/dataset-store/stub.ts";
import { type Sale, saleCells, sales, salesColumns, seedStore, storeChecksum } from "../../support/dataset-store.ts";

const limits = { maxRows: 10_000, maxBytes: 4 * 1024 * 1024, timeoutMs: 5_000 };
type Stub = DurableObjectStub<DatasetStore>;

const run = (stub: Stub, sql: string, over: Partial<QueryRequest> = {}) => stub.query({ sql, ...limits, ...over }) as Promise<QueryOutcome>;

async function ok(stub: Stub, sql: string, over: Partial<QueryRequest> = {}) {
  const outcome = await run(stub, sql, over);
  if (!outcome.ok) throw new Error(`expected rows for ${sql}, got ${outcome.code}: ${outcome.message}`);
  return outcome;
}

const rows = sales(300);
let store: Stub;

beforeAll(async () => {
  store = await seedStore({ id: crypto.randomUUID() }, salesColumns, saleCells(rows));
});

/** Plain JS: the mean of `amount` (nulls skipped) and the row count, per region. */
function byRegion(data: Sale[]) {
  const groups = new Map<string, { n: number; sum: number; counted: number }>();
  for (const row of data) {
    const group = groups.get(row.region) ?? { n: 0, sum: 0, counted: 0 };
    group.n++;
    if (row.amount !== null) (group.sum += row.amount), group.counted++;
    groups.set(row.region, group);
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([region, g]) => [region, g.n, g.sum / g.counted]);
}

describe("DatasetStore.query answers", () => {
  it("a GROUP BY over every row, equal to the same computation in plain JS", async () => {
    const result = await ok(store, `SELECT region, count(*) AS n, avg(amount) AS mean FROM dataset GROUP BY region ORDER BY region`);
    const expected = byRegion(rows);
    expect(result.rows.map((row) => row.slice(0, 2))).toEqual(expected.map((row) => row.slice(0, 2)));
    for (const [i, row] of result.rows.entries()) expect(row[2]).toBeCloseTo(expected[i]![2] as number, 9);
    expect(result.columns).toEqual([
      { name: "region", type: "string" },
      { name: "n", type: "number" },
      { name: "mean", type: "number" },
    ]);
    expect(result).toMatchObject({ rowCount: 4, truncated: false });
    expect(result.rowsRead).toBeGreaterThanOrEqual(300);
  });

  it("keeps the profile's types for the table's own columns, binds parameters, and quotes names with spaces", async () => {
    const result = await ok(store, `SELECT id, paid, day, "unit price" FROM dataset WHERE region = ? AND id <= ? ORDER BY id`, {
      params: ["North", 40],
    });
    const expected = rows.filter((row) => row.region === "North" && row.id <= 40);
    expect(result.rows).toEqual(expected.map((row) => [row.id, row.paid ? 1 : 0, row.day, row.unitPrice]));
    expect(result.columns.map((column) => column.type)).toEqual(["integer", "boolean", "datetime", "number"]);
  });

  it("runs strftime over the ISO datetimes, WITH … SELECT, VALUES, window functions and json_each", async () => {
    const months = await ok(
      store,
      `WITH m AS (SELECT strftime('%Y-%m', day) AS month, amount FROM dataset) SELECT month, count(*) FROM m GROUP BY month ORDER BY month`,
    );
    const expected = new Map<string, number>();
    for (const row of rows) expected.set(row.day.slice(0, 7), (expected.get(row.day.slice(0, 7)) ?? 0) + 1);
    expect(months.rows).toEqual([...expected].sort());
    expect((await ok(store, `VALUES (1, 'a'), (2, 'b')`)).rows).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
    const lagged = await ok(store, `SELECT id, lag(id) OVER (ORDER BY id) FROM dataset ORDER BY id LIMIT 3`);
    expect(lagged.rows).toEqual([
      [1, null],
      [2, 1],
      [3, 2],
    ]);
    expect((await ok(store, `SELECT value FROM json_each('[3,4]')`)).rows).toEqual([[3], [4]]);
    expect((await ok(store, `SELECT x'00ff' AS b`)).rows).toEqual([["AP8="]]);
  });

  it("reports SQLite's message and the position in the caller's text", async () => {
    const outcome = await run(store, `  /* note */ SELECT nope FROM dataset`);
    expect(outcome).toMatchObject({ ok: false, code: "QUERY_INVALID", message: "no such column: nope", position: 21 });
    expect(await run(store, `SELECT * FROM other`)).toMatchObject({ ok: false, code: "QUERY_INVALID", message: "no such table: other" });
    expect(await run(store, `SELECT 'open`)).toMatchObject({ ok: false, code: "QUERY_INVALID", position: 8 });
  });
});

describe("DatasetStore.query refuses writes", () => {
  const writes: [string, string][] = [
    ["INSERT", `INSERT INTO dataset (id) VALUES (9999)`],
    ["INSERT … RETURNING", `INSERT INTO dataset DEFAULT VALUES RETURNING *`],
    ["UPDATE", `UPDATE dataset SET amount = 0`],
    ["DELETE", `DELETE FROM dataset`],
    ["DROP", `DROP TABLE dataset`],
    ["CREATE", `CREATE TABLE t (x)`],
    ["CREATE INDEX", `CREATE INDEX i ON dataset (id)`],
    ["ALTER", `ALTER TABLE dataset ADD COLUMN x`],
    ["ATTACH", `ATTACH ':memory:' AS m`],
    ["PRAGMA write", `PRAGMA user_version = 7`],
    ["PRAGMA writable_schema", `PRAGMA writable_schema = ON`],
    ["VACUUM", `VACUUM`],
    ["REPLACE", `REPLACE INTO dataset (id) VALUES (1)`],
    ["a write after a CTE", `WITH x AS (SELECT 1) DELETE FROM dataset`],
    ["an insert fed by a CTE", `WITH x AS (SELECT * FROM dataset) INSERT INTO dataset SELECT * FROM x`],
    ["a write inside a CTE", `WITH x AS (DELETE FROM dataset RETURNING *) SELECT * FROM x`],
    ["a trigger", `CREATE TRIGGER t AFTER INSERT ON dataset BEGIN DELETE FROM dataset; END`],
    ["a second statement", `SELECT 1; DELETE FROM dataset`],
    ["; hidden in a block comment", `SELECT 1 /* ; */ ; DROP TABLE dataset`],
    ["; hidden in a line comment", `SELECT 1 -- ;\n; INSERT INTO dataset (id) VALUES (1)`],
    ["; inside a string", `SELECT ';' ; DELETE FROM dataset`],
    ["; inside an identifier", `SELECT "a;b" FROM dataset; UPDATE dataset SET id = 0`],
    ["; inside brackets", `SELECT [a;b] FROM dataset; UPDATE dataset SET id = 0`],
    ["; inside backticks", "SELECT `a;b` FROM dataset; UPDATE dataset SET id = 0"],
    ["mixed case", `sElEcT 1; dElEtE fRoM dataset`],
    ["a transaction", `BEGIN; DELETE FROM dataset; COMMIT`],
    ["a savepoint", `SAVEPOINT s`],
    ["REINDEX", `REINDEX`],
    ["ANALYZE", `ANALYZE`],
    ["a comment first", `-- read\nDELETE FROM dataset`],
  ];
  it.each(writes)("%s: refused, and the store is unchanged", async (_name, sql) => {
    const before = await storeChecksum(store);
    const outcome = await run(store, sql);
    expect(outcome.ok).toBe(false);
    expect(["QUERY_NOT_READ_ONLY", "QUERY_INVALID"]).toContain(outcome.ok ? "" : outcome.code);
    expect(await storeChecksum(store)).toBe(before);
  });

  it("names a write keyword QUERY_NOT_READ_ONLY, with its position", async () => {
    expect(await run(store, `SELECT 1; DELETE FROM dataset`)).toMatchObject({ ok: false, code: "QUERY_NOT_READ_ONLY", position: 11 });
  });

  it("accepts the string function replace() and quoted column names that are keywords", async () => {
    const result = await ok(store, `SELECT replace(region, 'th', 'TH') AS "delete" FROM dataset WHERE id = 1`);
    expect(result.rows).toEqual([[rows[0]!.region.replace("th", "TH")]]);
  });

  it("SQLite's compiler, the second gate, refuses a write or another table even when the text check is skipped", async () => {
    const verdicts = await runInDurableObject(store, (_instance: DatasetStore, state) =>
      [
        `DELETE FROM dataset`,
        `INSERT INTO dataset (id) VALUES (1)`,
        `SELECT * FROM sqlite_master`,
        `SELECT * FROM _store_meta`,
        `SELECT * FROM pragma_table_info('dataset')`,
      ].map((text) => checkProgram(state.storage.sql, { tokens: tokenize(text), normalized: text, text }, [], 0)?.code ?? "allowed"),
    );
    expect(verdicts).toEqual(["QUERY_NOT_READ_ONLY", "QUERY_NOT_READ_ONLY", "QUERY_INVALID", "QUERY_INVALID", "QUERY_INVALID"]);
  });

  it("the rolled-back transaction, the last guard, undoes a write that got past both gates", async () => {
    const before = await storeChecksum(store);
    const outcome = await runInDurableObject(store, (_instance: DatasetStore, state) =>
      readRolledBack(state.storage, `DELETE FROM dataset WHERE id <= 10 RETURNING id`, [], limits, salesColumns),
    );
    // The statement ran (it returned the ids it deleted), and yet nothing was deleted.
    expect(outcome).toMatchObject({ ok: true, rowCount: 10 });
    expect(await storeChecksum(store)).toBe(before);
    expect((await ok(store, `SELECT count(*) FROM dataset`)).rows).toEqual([[300]]);
  });
});

describe("DatasetStore.query shows only the table dataset", () => {
  const hidden = [
    `SELECT * FROM sqlite_master`,
    `SELECT * FROM sqlite_schema`,
    `SELECT * FROM main.sqlite_master`,
    `SELECT * FROM "sqlite_master"`,
    `SELECT * FROM [sqlite_temp_master]`,
    `SELECT * FROM _store_meta`,
    "SELECT * FROM `_store_meta`",
    `SELECT name FROM pragma_table_info('dataset')`,
    `SELECT * FROM dataset WHERE id IN (SELECT rowid FROM sqlite_master)`,
    `SELECT randomblob(1000000)`,
  ];
  it.each(hidden)("%s: refused", async (sql) => {
    expect(await run(store, sql)).toMatchObject({ ok: false, code: "QUERY_INVALID" });
  });
});

describe("DatasetStore.query caps", () => {
  it("cuts a result at maxRows and says so; a result of exactly maxRows is whole", async () => {
    const cut = await ok(store, `SELECT id FROM dataset ORDER BY id`, { maxRows: 50 });
    expect(cut).toMatchObject({ rowCount: 50, truncated: true });
    expect(cut.rows).toEqual(rows.slice(0, 50).map((row) => [row.id]));
    expect(await ok(store, `SELECT id FROM dataset LIMIT 50`, { maxRows: 50 })).toMatchObject({ rowCount: 50, truncated: false });
  });

  it("refuses a result larger than maxBytes", async () => {
    expect(await run(store, `SELECT * FROM dataset`, { maxBytes: 2_000 })).toMatchObject({ ok: false, code: "QUERY_RESULT_TOO_LARGE" });
  });
});

describe("DatasetStore.query time", () => {
  const runaways = [
    ["a cross join", `SELECT count(*) FROM dataset a, dataset b`],
    ["a cross join written as JOIN", `SELECT count(*) FROM dataset a JOIN dataset b ON 1`],
    [
      "an equality self-join (a key with few values makes it quadratic)",
      `SELECT count(*) FROM dataset a JOIN dataset b ON a.region = b.region`,
    ],
    ["a join of two full scans of a CTE", `WITH t AS MATERIALIZED (SELECT * FROM dataset) SELECT count(*) FROM t, t AS u`],
    [
      "a full scan joined with a GROUP BY subquery (as many groups as rows, for all SQLite knows)",
      `SELECT count(*) FROM dataset, (SELECT id FROM dataset GROUP BY id) t`,
    ],
    ["a full scan joined with a large LIMIT", `SELECT count(*) FROM dataset, (SELECT * FROM dataset LIMIT 100000) t`],
    ["a correlated subquery that scans", `SELECT (SELECT count(*) FROM dataset b WHERE b.amount < a.amount) FROM dataset a`],
    ["a recursive CTE", `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c`],
  ];
  it.each(runaways)("%s: refused before it runs, and the store answers at once afterwards", async (_name, sql) => {
    expect(await run(store, sql)).toMatchObject({ ok: false, code: "QUERY_INVALID" });
    expect((await ok(store, `SELECT count(*) FROM dataset`)).rows).toEqual([[300]]);
  });

  it("allows the linear shapes: uncorrelated subqueries, IN, UNION, a join on an aggregated subquery", async () => {
    await ok(store, `SELECT count(*) FROM dataset WHERE amount > (SELECT avg(amount) FROM dataset)`);
    await ok(store, `SELECT count(*) FROM dataset WHERE id IN (SELECT id FROM dataset WHERE paid = 1)`);
    await ok(store, `SELECT id FROM dataset UNION SELECT id + 1000 FROM dataset`);
    // A one-row aggregate beside a full scan (the share of a total): SQLite estimates it tiny, so the join is linear.
    const share = await ok(store, `SELECT count(*) * 1.0 / t.n FROM dataset, (SELECT count(*) AS n FROM dataset) t WHERE paid = 1`);
    expect(share.rows).toEqual([[rows.filter((row) => row.paid).length / 300]]);
    const joined = await ok(
      store,
      `SELECT d.id, g.n FROM dataset d JOIN (SELECT region, count(*) AS n FROM dataset GROUP BY region) g ON d.region = g.region WHERE d.id = 1`,
    );
    expect(joined.rows).toEqual([[1, rows.filter((row) => row.region === rows[0]!.region).length]]);
  });

  it("answers QUERY_TIMEOUT when reading outruns the deadline, and the store answers afterwards", async () => {
    const big = await seedStore({ id: crypto.randomUUID() }, [{ name: "n", type: "integer" }], []);
    await runInDurableObject(big, (_instance: DatasetStore, state) => {
      state.storage.sql.exec(
        `INSERT INTO dataset WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 200000) SELECT n FROM c`,
      );
    });
    // Sorting 200,000 computed keys takes far longer than 1 ms on any machine.
    expect(await run(big, `SELECT n FROM dataset ORDER BY hex(n * 7919 % 100003) LIMIT 5`, { timeoutMs: 1 })).toMatchObject({
      ok: false,
      code: "QUERY_TIMEOUT",
    });
    expect((await ok(big, `SELECT count(*) FROM dataset`)).rows).toEqual([[200_000]]);
  });

  it("the plan check is SQLite's own plan: an equality self-join shows a SEARCH inside a SCAN", async () => {
    const text = `SELECT count(*) FROM dataset a JOIN dataset b ON a.id = b.id`;
    const verdict = await runInDurableObject(store, (_instance: DatasetStore, state) =>
      checkPlan(state.storage.sql, { tokens: tokenize(text), normalized: text, text }, [], 0),
    );
    expect(verdict).toMatchObject({ code: "QUERY_INVALID", message: expect.stringContaining("itself") });
  });
});

describe("DatasetStore.query before the store is ready", () => {
  it("answers DATASET_NOT_READY while loading, and for a store that was never loaded", async () => {
    const loading = await seedStore({ id: crypto.randomUUID() }, salesColumns, saleCells(rows.slice(0, 5)), { status: "loading" });
    expect(await run(loading, `SELECT count(*) FROM dataset`)).toMatchObject({ ok: false, code: "DATASET_NOT_READY", status: "loading" });
    const empty = storeFor(env, { id: crypto.randomUUID(), orgId: "never-loaded", sha256: crypto.randomUUID() });
    expect(await run(empty, `SELECT 1`)).toMatchObject({ ok: false, code: "DATASET_NOT_READY", status: "missing" });
  });
});
