// POST /datasets/{id}/query through the Worker (integration, SELF and worker.fetch): answers equal plain JS over the file's rows, the result
// cache, roles and API keys, another tenant's 404, not-ready stores, refused writes leaving the store unchanged, caps and time.
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { DatasetStore } from "../../../src/durable-objects/dataset-store/dataset-store.ts";
import worker from "../../../src/index.ts";
import { eq } from "drizzle-orm";
import { createDb } from "../../../src/db/client.ts";
import { datasets } from "../../../src/db/schema.ts";
import { storeFor } from "../../../src/services/dataset-store/stub.ts";
import { sales, salesColumns, salesCsv, storeChecksum } from "../../support/dataset-store.ts";
import { settled } from "../../support/dataset-loads.ts";
import { checkedFetch, addMember, call, json, person, randomIp, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface Answer {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  sql: string;
  dataset: { id: string; version: number; sha256: string };
  elapsedMs: number;
  cached: boolean;
}
interface Uploaded {
  id: string;
  version: number;
  sha256: string;
  profile: { columns: { name: string; type: string }[] };
}

const rows = sales(240);

async function upload(who: Person, org?: string, csv = salesCsv(rows)): Promise<Uploaded> {
  const project = await json<{ id: string }>(
    await call("/api/v1/projects", { method: "POST", token: who.token, body: { name: "Sales", ...(org ? { org } : {}) } }),
    201,
  );
  const response = await checkedFetch(`https://api.test/api/v1/projects/${project.id}/datasets?name=sales`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "CF-Connecting-IP": randomIp(), "Content-Type": "text/csv" },
    body: csv,
  });
  return json<Uploaded>(response, 201);
}

/** Uploads and waits for the queue's load to fill the dataset's store; answers the dataset and its store. */
async function loaded(who: Person, org?: string, csv = salesCsv(rows)) {
  const uploaded = await upload(who, org, csv);
  expect((await settled(who, uploaded.id)).query.status).toBe("ready");
  const [row] = await createDb(env).select({ orgId: datasets.orgId }).from(datasets).where(eq(datasets.id, uploaded.id));
  return { dataset: uploaded, store: storeFor(env, { id: uploaded.id, orgId: row!.orgId, sha256: uploaded.sha256 }) };
}

const ask = (token: string | undefined, datasetId: string, body: unknown) =>
  call(`/api/v1/datasets/${datasetId}/query`, { method: "POST", token, body });

/** Through the Worker with some variables changed (the caps). */
async function askWith(overrides: Record<string, string>, token: string, datasetId: string, body: unknown) {
  const ctx = createExecutionContext();
  const request = new Request(`https://api.test/api/v1/datasets/${datasetId}/query`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "CF-Connecting-IP": randomIp(), "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const response = await worker.fetch(request, { ...env, ...overrides } as Cloudflare.Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

let owner: Person;
let dataset: Uploaded;
let store: DurableObjectStub<DatasetStore>;

beforeAll(async () => {
  owner = await person("query");
  // The queue's load fills the store from the uploaded file, typed by the upload's own profile.
  ({ dataset, store } = await loaded(owner));
  expect(dataset.profile.columns.map(({ name, type }) => ({ name, type }))).toEqual(salesColumns);
});

describe("POST /datasets/{id}/query answers", () => {
  it("SQL over every row, equal to plain JS over the same rows, with the dataset version; a repeat comes from the cache", async () => {
    const sql = `SELECT region, count(*) AS n, sum("unit price") AS total FROM dataset WHERE paid = 1 GROUP BY region ORDER BY region`;
    const answer = await json<Answer>(await ask(owner.token, dataset.id, { sql }), 200);
    const expected = new Map<string, [number, number]>();
    for (const row of rows.filter((r) => r.paid)) {
      const [n, total] = expected.get(row.region) ?? [0, 0];
      expected.set(row.region, [n + 1, total + row.unitPrice]);
    }
    expect(answer.rows).toEqual([...expected].sort(([a], [b]) => a.localeCompare(b)).map(([region, [n, total]]) => [region, n, total]));
    expect(answer).toMatchObject({
      columns: [
        { name: "region", type: "string" },
        { name: "n", type: "number" },
        { name: "total", type: "number" },
      ],
      rowCount: expected.size,
      truncated: false,
      sql,
      dataset: { id: dataset.id, version: 1, sha256: dataset.sha256 },
      cached: false,
    });
    // The same statement in another spelling (case, spaces, a comment) is the same query.
    const again = await json<Answer>(
      await ask(owner.token, dataset.id, {
        sql: `select region,  COUNT(*) as n, SUM("unit price") as total -- again\n from DATASET where PAID = 1 group by REGION order by region;`,
      }),
      200,
    );
    expect(again).toMatchObject({ cached: true, rows: answer.rows, columns: answer.columns, dataset: answer.dataset });
  });

  it("binds params; another value is another cache entry", async () => {
    const sql = `SELECT count(*) FROM dataset WHERE region = ? AND amount IS NOT NULL`;
    for (const region of ["North", "East"]) {
      const answer = await json<Answer>(await ask(owner.token, dataset.id, { sql, params: [region] }), 200);
      expect(answer).toMatchObject({ cached: false, rows: [[rows.filter((row) => row.region === region && row.amount !== null).length]] });
    }
  });

  it("to a viewer of the organization and to a read-only API key", async () => {
    const admin = await person("query-team");
    const slug = await team(admin, "Analysts");
    const { dataset: shared } = await loaded(admin, slug);
    const viewer = await person("query-viewer");
    await addMember(admin, slug, viewer, "viewer");
    const sql = `SELECT max(id) FROM dataset`;
    expect((await json<Answer>(await ask(viewer.token, shared.id, { sql }), 200)).rows).toEqual([[240]]);
    const key = await json<{ key: string }>(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: admin.token, body: { name: "dash", scopes: ["read"] } }),
      201,
    );
    expect((await json<Answer>(await ask(key.key, shared.id, { sql: `SELECT min(id) FROM dataset` }), 200)).rows).toEqual([[1]]);
  });
});

describe("POST /datasets/{id}/query refuses", () => {
  it("another tenant (404, as for a dataset that does not exist), and a caller without credentials (401)", async () => {
    const stranger = await person("query-stranger");
    await expectProblem(await ask(stranger.token, dataset.id, { sql: "SELECT 1" }), 404, "NOT_FOUND");
    await expectProblem(await ask(owner.token, crypto.randomUUID(), { sql: "SELECT 1" }), 404, "NOT_FOUND");
    await expectProblem(await ask(undefined, dataset.id, { sql: "SELECT 1" }), 401, "UNAUTHORIZED");
  });

  it("a body that is not { sql, params? }", async () => {
    await expectProblem(await ask(owner.token, dataset.id, {}), 400, "VALIDATION_FAILED");
    await expectProblem(await ask(owner.token, dataset.id, { sql: "SELECT 1", extra: true }), 400, "VALIDATION_FAILED");
    await expectProblem(await ask(owner.token, dataset.id, { sql: "SELECT ?", params: [{ a: 1 }] }), 400, "VALIDATION_FAILED");
  });

  it("a dataset whose store is not loaded yet: 409 with Retry-After, then the answer once it is", async () => {
    // 150,000 rows take the load seconds on any machine; the query is sent the moment the upload answers.
    const csv = `n,label\n${Array.from({ length: 150_000 }, (_, i) => `${i},row ${i % 97}`).join("\n")}\n`;
    const fresh = await upload(owner, undefined, csv);
    const early = await ask(owner.token, fresh.id, { sql: "SELECT count(*) FROM dataset" });
    expect(early.headers.get("Retry-After")).toMatch(/^\d+$/);
    const problem = await expectProblem(early, 409, "DATASET_NOT_READY");
    expect(["missing", "pending", "loading"]).toContain(problem.storeStatus);
    expect((await settled(owner, fresh.id)).query.status).toBe("ready");
    expect((await json<Answer>(await ask(owner.token, fresh.id, { sql: "SELECT count(*) FROM dataset" }), 200)).rows).toEqual([[150_000]]);
  });

  it("writes (422 QUERY_NOT_READ_ONLY), leaving every row as it was", async () => {
    const before = await storeChecksum(store);
    for (const sql of [
      `DELETE FROM dataset`,
      `UPDATE dataset SET amount = 0`,
      `SELECT 1; DROP TABLE dataset`,
      `WITH x AS (SELECT 1) INSERT INTO dataset (id) SELECT 1 FROM x`,
      `PRAGMA user_version = 1`,
    ]) {
      await expectProblem(await ask(owner.token, dataset.id, { sql }), 422, "QUERY_NOT_READ_ONLY");
    }
    expect(await storeChecksum(store)).toBe(before);
  });

  it("other tables (422 QUERY_INVALID), and invalid SQL with SQLite's message and its position", async () => {
    for (const sql of [`SELECT * FROM sqlite_master`, `SELECT * FROM _store_meta`, `SELECT * FROM pragma_table_info('dataset')`]) {
      await expectProblem(await ask(owner.token, dataset.id, { sql }), 422, "QUERY_INVALID");
    }
    const invalid = await expectProblem(await ask(owner.token, dataset.id, { sql: "SELECT regoin FROM dataset" }), 422, "QUERY_INVALID");
    expect(invalid).toMatchObject({ position: 8, detail: expect.stringContaining("no such column: regoin") });
  });

  it("a cross join of the table with itself (422, before it runs), and the store answers the next query at once", async () => {
    const refused = await expectProblem(
      await ask(owner.token, dataset.id, { sql: "SELECT count(*) FROM dataset a, dataset b" }),
      422,
      "QUERY_INVALID",
    );
    expect(refused.detail).toContain("itself");
    expect(
      (await json<Answer>(await ask(owner.token, dataset.id, { sql: "SELECT count(*) FROM dataset WHERE id > 0" }), 200)).rows,
    ).toEqual([[240]]);
  });
});

describe("POST /datasets/{id}/query caps", () => {
  it("cuts a result at QUERY_MAX_ROWS with truncated: true", async () => {
    const answer = await json<Answer>(
      await askWith({ QUERY_MAX_ROWS: "5" }, owner.token, dataset.id, { sql: "SELECT id FROM dataset ORDER BY id DESC" }),
      200,
    );
    expect(answer).toMatchObject({ rowCount: 5, truncated: true, rows: [[240], [239], [238], [237], [236]] });
  });

  it("refuses a result past QUERY_MAX_BYTES: 413 QUERY_RESULT_TOO_LARGE", async () => {
    await expectProblem(
      await askWith({ QUERY_MAX_BYTES: "300" }, owner.token, dataset.id, { sql: "SELECT * FROM dataset" }),
      413,
      "QUERY_RESULT_TOO_LARGE",
    );
  });

  it("answers 504 QUERY_TIMEOUT past QUERY_TIMEOUT_MS, and the store answers afterwards", async () => {
    const { dataset: big, store: bigStore } = await loaded(owner, undefined, "n\n1\n2\n");
    await runInDurableObject(bigStore, (_instance: DatasetStore, state) => {
      state.storage.sql.exec(
        `INSERT INTO dataset WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 200000) SELECT n FROM c`,
      );
    });
    // Sorting 200,000 computed keys takes far longer than 1 ms on any machine.
    const sql = "SELECT n FROM dataset ORDER BY hex(n * 7919 % 100003) LIMIT 3";
    await expectProblem(await askWith({ QUERY_TIMEOUT_MS: "1" }, owner.token, big.id, { sql }), 504, "QUERY_TIMEOUT");
    // The file's two rows, loaded by the queue, and the 200,000 added above.
    expect((await json<Answer>(await ask(owner.token, big.id, { sql: "SELECT count(*) FROM dataset" }), 200)).rows).toEqual([[200_002]]);
  });
});

describe("POST /datasets/{id}/query with a chart spec", () => {
  const askSpec = (spec: unknown) => ask(owner.token, dataset.id, { spec });

  it("compiles the spec, runs it through the same gates, and returns its SQL: mean by region, sorted, equal to plain JS", async () => {
    const answer = await json<Answer>(
      await askSpec({
        encoding: { x: { field: "region", type: "nominal" }, y: { field: "amount", aggregate: "mean" } },
        sort: { channel: "y", order: "desc" },
      }),
      200,
    );
    const means = new Map<string, number[]>();
    for (const row of rows) if (row.amount !== null) means.set(row.region, [...(means.get(row.region) ?? []), row.amount]);
    const expected = [...means]
      .map(([region, values]) => [region, values.reduce((a, b) => a + b, 0) / values.length] as const)
      .sort((a, b) => b[1] - a[1]);
    expect(answer.rows.map((row) => row[0])).toEqual(expected.map((row) => row[0]));
    for (const [i, row] of answer.rows.entries()) expect(row[1]).toBeCloseTo(expected[i]![1], 9);
    expect(answer.sql).toMatch(/\bdataset\b/);
    expect(answer.cached).toBe(false);
  });

  it("runs every feature (count, median, distinct, bin, timeUnit, filters, limit) without a gate refusing it", async () => {
    const specs = [
      { encoding: { x: { field: "day", timeUnit: "month" }, y: { field: "unit price", aggregate: "sum" } } },
      { encoding: { x: { field: "amount", bin: { maxbins: 5 } }, y: { aggregate: "count" } } },
      { encoding: { x: { field: "region" }, y: { field: "amount", aggregate: "median" }, color: { field: "id", aggregate: "distinct" } } },
      {
        encoding: { x: { field: "day", timeUnit: "week" }, y: { field: "id", aggregate: "max" } },
        filter: [
          { field: "region", op: "in", value: ["North", "South"] },
          { field: "amount", op: "isNull", value: false },
        ],
      },
      { encoding: { x: { field: "id" }, y: { field: "amount" } }, filter: [{ field: "id", op: "between", value: [10, 19] }], limit: 5 },
    ];
    for (const spec of specs) {
      const response = await askSpec(spec);
      expect(response.status, `${JSON.stringify(spec)}: ${await response.clone().text()}`).toBe(200);
    }
    const counted = await json<Answer>(
      await askSpec({ encoding: { y: { aggregate: "count" } }, filter: [{ field: "paid", op: "=", value: true }] }),
      200,
    );
    expect(counted.rows).toEqual([[rows.filter((row) => row.paid).length]]);
  });

  it("a spec naming a column the dataset lacks, or a limit past QUERY_MAX_ROWS: 422 QUERY_INVALID naming the path", async () => {
    const missing = await expectProblem(await askSpec({ encoding: { x: { field: "prize" } } }), 422, "QUERY_INVALID");
    expect(missing.errors).toEqual([expect.objectContaining({ path: "body.spec.encoding.x.field" })]);
    const huge = await expectProblem(await askSpec({ encoding: { x: { field: "id" } }, limit: 1_000_000_000 }), 422, "QUERY_INVALID");
    expect(huge.errors).toEqual([expect.objectContaining({ path: "body.spec.limit" })]);
  });

  it("both sql and spec, neither, or params with a spec: 400", async () => {
    const spec = { encoding: { y: { aggregate: "count" } } };
    await expectProblem(await ask(owner.token, dataset.id, { sql: "SELECT 1", spec }), 400, "VALIDATION_FAILED");
    await expectProblem(await ask(owner.token, dataset.id, { spec, params: [1] }), 400, "VALIDATION_FAILED");
  });
});
