// The dataset-load queue and the DatasetStore, in workerd: uploads become ready stores holding exactly their rows, typed;
// redelivery and interrupted loads, failures and the dead-letter queue, purge, shared stores and tenancy.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { datasets } from "../../../src/db/schema.ts";
import type { RoomEvent } from "../../../src/durable-objects/session-room/session-room.ts";
import worker from "../../../src/index.ts";
import { storeFor, storeName } from "../../../src/services/dataset-store/stub.ts";
import type { StoreColumn } from "../../../src/queues/dataset-loads/values.ts";
import { call, json, person, type Person } from "../../support/harness.ts";
import { deliver, getDataset, hasTable, inStore, newProject, settled, storeRows, upload } from "../../support/dataset-loads.ts";

const db = () => createDb(env);
const cities = ["Paris", "Lyon", "Köln", "São Paulo", 'New "York"', "Rome, Italy"];

/** A sales file and, beside it, the values it was written from (the expectation never reads the file back through our code). */
function salesFile(rows: number, tag?: string) {
  const records = Array.from({ length: rows }, (_, i) => ({
    id: i + 1,
    city: cities[i % cities.length]!,
    amount: ((i * 37) % 1000) / 4,
    when: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000),
    ok: i % 3 === 0,
  }));
  const quote = (text: string) => (/[",]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
  const stamp = (at: Date) => at.toISOString().slice(0, 19).replace("T", " ");
  const extra = tag === undefined ? "" : `,${tag}`;
  const csv = `id,city,amount,when,ok${tag === undefined ? "" : ",tag"}\n${records.map((r) => `${r.id},${quote(r.city)},${r.amount},${stamp(r.when)},${r.ok}${extra}`).join("\n")}\n`;
  return { csv, records };
}

const orgOf = async (datasetId: string) =>
  (await db().select({ orgId: datasets.orgId }).from(datasets).where(eq(datasets.id, datasetId)))[0]!.orgId;
const keyOf = async (dataset: { id: string; sha256: string }) => ({ ...dataset, orgId: await orgOf(dataset.id) });

/** Puts the dataset back to pending and empties its store, so a delivery made by the test is the one that loads it. */
async function reset(dataset: { id: string; sha256: string }) {
  await storeFor(env, await keyOf(dataset)).destroy();
  await db()
    .update(datasets)
    .set({ queryStatus: "pending", queryRows: null, queryLoadedAt: null, queryError: null })
    .where(eq(datasets.id, dataset.id));
}

async function loaded(who: Person, csv: string, options: { type?: string; name?: string } = {}) {
  const project = await newProject(who);
  const dataset = await upload(who, project, csv, options);
  expect(dataset.query).toEqual({ status: "pending", rows: null, loadedAt: null, error: null });
  return { project, dataset: await settled(who, dataset.id), key: await keyOf(dataset) };
}

describe("queue(): dataset loads", () => {
  it("turns an upload into a ready store holding exactly the file's rows (several batches)", { timeout: 90_000 }, async () => {
    const ada = await person("store");
    const { csv, records } = salesFile(20_000);
    const { dataset, key } = await loaded(ada, csv);
    expect(dataset.query).toMatchObject({ status: "ready", rows: records.length, error: null });
    expect(Date.parse(dataset.query.loadedAt!)).not.toBeNaN();

    const [count] = await storeRows<{ n: number; total: number; first: string; last: string }>(
      key,
      `SELECT count(*) AS n, sum(amount) AS total, min("when") AS first, max("when") AS last FROM dataset`,
    );
    expect(count!.n).toBe(records.length);
    expect(count!.total).toBeCloseTo(
      records.reduce((sum, r) => sum + r.amount, 0),
      6,
    );
    expect(count!.first).toBe(records[0]!.when.toISOString());
    expect(count!.last).toBe(records.at(-1)!.when.toISOString());

    const byCity = await storeRows<{ city: string; n: number }>(key, `SELECT city, count(*) AS n FROM dataset GROUP BY city ORDER BY city`);
    const expected = new Map<string, number>();
    for (const r of records) expected.set(r.city, (expected.get(r.city) ?? 0) + 1);
    expect(Object.fromEntries(byCity.map((row) => [row.city, row.n]))).toEqual(Object.fromEntries(expected));

    for (const id of [1, 2, 5, 4_321, 20_000]) {
      const r = records[id - 1]!;
      expect(await storeRows(key, `SELECT * FROM dataset WHERE id = ?`, id)).toEqual([
        { id, city: r.city, amount: r.amount, when: r.when.toISOString(), ok: r.ok ? 1 : 0 },
      ]);
    }
    // strftime works on the stored instants, as the query API will use it.
    const [month] = await storeRows<{ n: number }>(key, `SELECT count(*) AS n FROM dataset WHERE strftime('%Y-%m', "when") = '2024-02'`);
    expect(month!.n).toBe(records.filter((r) => r.when.getUTCMonth() === 1 && r.when.getUTCFullYear() === 2024).length);
    const meta = await storeFor(env, key).meta();
    expect(meta).toMatchObject({ status: "ready", rows: records.length, sha256: dataset.sha256, datasetId: dataset.id, error: null });
    expect(meta.columns).toEqual([
      { name: "id", type: "integer" },
      { name: "city", type: "string" },
      { name: "amount", type: "number" },
      { name: "when", type: "datetime" },
      { name: "ok", type: "boolean" },
    ]);
  });

  it("stores every type with its SQLite type, nulls as NULL and datetimes as ISO-8601 UTC", async () => {
    const ada = await person("store");
    const csv = [
      "count,price,flag,at,label,big",
      "1,1.5,true,2024-03-01,hello,9007199254740993",
      ",2,FALSE,2024-03-01T12:00:00+02:00,,1",
      "NA,-0.25,,2024-03-01 23:59:59.5,none,-9007199254740993",
      '-7, ,false,null,"quoted, with comma",',
    ].join("\n");
    const { dataset, key } = await loaded(ada, csv);
    expect(dataset.profile.columns.map((column) => column.type)).toEqual(["integer", "number", "boolean", "datetime", "string", "integer"]);
    expect(dataset.query).toMatchObject({ status: "ready", rows: 4 });
    const rows = await storeRows(
      key,
      `SELECT count, typeof(count) AS tc, price, typeof(price) AS tp, flag, typeof(flag) AS tf, at, typeof(at) AS ta, label, typeof(label) AS tl,
              CAST(big AS TEXT) AS big, typeof(big) AS tb FROM dataset ORDER BY rowid`,
    );
    expect(rows).toEqual([
      {
        count: 1,
        tc: "integer",
        price: 1.5,
        tp: "real",
        flag: 1,
        tf: "integer",
        at: "2024-03-01T00:00:00.000Z",
        ta: "text",
        label: "hello",
        tl: "text",
        big: "9007199254740993",
        tb: "integer",
      },
      {
        count: null,
        tc: "null",
        price: 2,
        tp: "real",
        flag: 0,
        tf: "integer",
        at: "2024-03-01T10:00:00.000Z",
        ta: "text",
        label: null,
        tl: "null",
        big: "1",
        tb: "integer",
      },
      {
        count: null,
        tc: "null",
        price: -0.25,
        tp: "real",
        flag: null,
        tf: "null",
        at: "2024-03-01T23:59:59.500Z",
        ta: "text",
        label: null,
        tl: "null",
        big: "-9007199254740993",
        tb: "integer",
      },
      {
        count: -7,
        tc: "integer",
        price: null,
        tp: "null",
        flag: 0,
        tf: "integer",
        at: null,
        ta: "null",
        label: "quoted, with comma",
        tl: "text",
        big: null,
        tb: "null",
      },
    ]);
    const [day] = await storeRows<{ d: string }>(key, `SELECT strftime('%Y-%m-%d %H', at) AS d FROM dataset WHERE count = 1`);
    expect(day!.d).toBe("2024-03-01 00");
  });

  it("keeps file order and every character when a row is too long to go with others (a cell of 300,000 characters)", async () => {
    const ada = await person("store");
    const long = `${"é".repeat(150_000)}"quoted", \\ back${"x".repeat(150_000)}`;
    const rows = [[1, "short"], [2, long], [3, "after"], ...Array.from({ length: 50 }, (_, i): [number, string] => [4 + i, `n${i}`])] as [
      number,
      string,
    ][];
    const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;
    const csv = `id,text\n${rows.map(([id, text]) => `${id},${quote(text)}`).join("\n")}\n`;
    const { dataset, key } = await loaded(ada, csv);
    expect(dataset.query).toMatchObject({ status: "ready", rows: rows.length });
    const stored = await storeRows<{ id: number; text: string }>(key, `SELECT id, text FROM dataset ORDER BY rowid`);
    expect(stored.map((row) => row.id)).toEqual(rows.map(([id]) => id));
    expect(stored[1]!.text.length).toBe(long.length);
    expect(stored[1]!.text === long).toBe(true);
    expect(stored.map((row) => row.text)).toEqual(rows.map(([, text]) => text));
  });

  it("loads NDJSON through the same parser: keys first seen late are NULL before, JSON types kept", async () => {
    const ada = await person("store");
    const ndjson = ['{"a":1,"b":"x","c":true}', '{"a":2,"b":null,"c":false,"d":2.5}', '{"a":3,"b":"z","c":true,"d":{"nested":1}}'].join(
      "\n",
    );
    const { dataset, key } = await loaded(ada, ndjson, { type: "application/x-ndjson" });
    expect(dataset.profile.columns.map((column) => [column.name, column.type])).toEqual([
      ["a", "integer"],
      ["b", "string"],
      ["c", "boolean"],
      ["d", "string"],
    ]);
    expect(await storeRows(key, `SELECT a, b, c, d, typeof(a) AS ta FROM dataset ORDER BY a`)).toEqual([
      { a: 1, b: "x", c: 1, d: null, ta: "integer" },
      { a: 2, b: null, c: 0, d: "2.5", ta: "integer" },
      { a: 3, b: "z", c: 1, d: '{"nested":1}', ta: "integer" },
    ]);
  });

  it("is a no-op when delivered again for a ready store, even twice at once", async () => {
    const ada = await person("store");
    const { dataset, key } = await loaded(ada, salesFile(50).csv);
    const before = await storeFor(env, key).meta();
    const results = await Promise.all([
      deliver("datacrafted-dataset-loads", [{ datasetId: dataset.id }]),
      deliver("datacrafted-dataset-loads", [{ datasetId: dataset.id }]),
    ]);
    for (const result of results) {
      expect(result.explicitAcks).toHaveLength(1);
      expect(result.retryMessages).toEqual([]);
    }
    expect(await storeFor(env, key).meta()).toEqual(before);
    expect((await getDataset(ada, dataset.id)).query).toEqual(dataset.query);
    expect((await storeRows<{ n: number }>(key, `SELECT count(*) AS n FROM dataset`))[0]!.n).toBe(50);
  });

  it("loads once when two deliveries for a pending store arrive together: the second finds it ready, or busy and comes back", async () => {
    const ada = await person("store");
    const { dataset, key } = await loaded(ada, salesFile(3_000).csv);
    await reset(dataset);
    const results: Awaited<ReturnType<typeof deliver>>[] = await Promise.all(
      [1, 2].map(() => deliver("datacrafted-dataset-loads", [{ datasetId: dataset.id }])),
    );
    expect(results.filter((result) => result.explicitAcks.length === 1).length).toBeGreaterThanOrEqual(1);
    // Each delivery is acknowledged: it loaded, found the store ready, or found it busy and queued a fresh look for later.
    for (const result of results) expect(result).toMatchObject({ explicitAcks: [expect.any(String)], retryMessages: [] });
    expect((await getDataset(ada, dataset.id)).query).toMatchObject({ status: "ready", rows: 3_000 });
    expect((await storeRows<{ n: number }>(key, `SELECT count(*) AS n FROM dataset`))[0]!.n).toBe(3_000);
  });

  it("restarts a load cut short cleanly: the rows it left are gone, the table holds the file once", async () => {
    const ada = await person("store");
    const { dataset, key } = await loaded(ada, salesFile(500).csv);
    // As a store evicted mid-load leaves it: status loading, part of the rows (and a stray one) written.
    await inStore(key, (sql) => {
      sql.exec(`UPDATE _store_meta SET value = 'loading' WHERE key = 'status'`);
      sql.exec(`DELETE FROM dataset WHERE id > 100`);
      sql.exec(`INSERT INTO dataset (id, city) VALUES (-1, 'stray')`);
    });
    await db().update(datasets).set({ queryStatus: "loading" }).where(eq(datasets.id, dataset.id));
    const result = await deliver("datacrafted-dataset-loads", [{ datasetId: dataset.id }]);
    expect(result.retryMessages).toEqual([]);
    expect((await getDataset(ada, dataset.id)).query).toMatchObject({ status: "ready", rows: 500 });
    expect(await storeRows(key, `SELECT count(*) AS n, count(DISTINCT id) AS ids, min(id) AS low FROM dataset`)).toEqual([
      { n: 500, ids: 500, low: 1 },
    ]);
  });

  it("refuses the late batches of a load that a redelivery superseded: the table holds the file once", async () => {
    const ada = await person("store");
    const { csv, records } = salesFile(300);
    const { dataset, key } = await loaded(ada, csv);
    await reset(dataset);
    const store = storeFor(env, key);
    // A first delivery begins and writes a batch, then goes silent (its Worker died) for longer than a live load may.
    const columns = [
      { name: "id", type: "integer" },
      { name: "city", type: "string" },
      { name: "amount", type: "number" },
      { name: "when", type: "datetime" },
      { name: "ok", type: "boolean" },
    ] as const satisfies StoreColumn[];
    const first = await store.beginLoad({ datasetId: dataset.id, sha256: dataset.sha256, columns });
    if (first.status !== "started") throw new Error(`expected a started load, got ${first.status}`);
    const batch = records.slice(0, 10).flatMap((r) => [r.id, r.city, r.amount, r.when.toISOString(), r.ok ? 1 : 0]);
    expect(await store.appendRows(first.loadId, batch, 10)).toEqual({ ok: true, rows: 10 });
    await inStore(key, (sql) => sql.exec(`UPDATE _store_meta SET value = '2000-01-01T00:00:00.000Z' WHERE key = 'heartbeat'`));
    // The redelivery starts over and loads the whole file; the first delivery's late batch and finish are refused.
    const result = await deliver("datacrafted-dataset-loads", [{ datasetId: dataset.id }]);
    expect(result.explicitAcks).toHaveLength(1);
    // (Each call awaited inside a function of its own: an RPC's promise is reported unhandled when handed to expect() as is.)
    const refusal = async (call: () => Promise<unknown>) => {
      try {
        await call();
        return null;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    };
    expect(await refusal(() => store.appendRows(first.loadId, batch, 10))).toMatch(/superseded/);
    expect(await refusal(() => store.finishLoad(first.loadId, 10))).toMatch(/superseded/);
    expect((await getDataset(ada, dataset.id)).query).toMatchObject({ status: "ready", rows: records.length });
    expect(await storeRows(key, `SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(amount) AS total FROM dataset`)).toEqual([
      { n: records.length, ids: records.length, total: records.reduce((sum, r) => sum + r.amount, 0) },
    ]);
  });

  it("fails a load whose file is gone, with the error recorded on the dataset and the store", async () => {
    const ada = await person("store");
    const { dataset, key } = await loaded(ada, salesFile(20).csv);
    const [row] = await db().select({ r2Key: datasets.r2Key }).from(datasets).where(eq(datasets.id, dataset.id));
    await env.DATASETS.delete(row!.r2Key);
    await reset(dataset);
    const result = await deliver("datacrafted-dataset-loads", [{ datasetId: dataset.id }]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    const failed = await getDataset(ada, dataset.id);
    expect(failed.query).toEqual({ status: "failed", rows: null, loadedAt: null, error: "The dataset's file is no longer stored." });
    expect(await storeFor(env, key).meta()).toMatchObject({ status: "failed", error: "The dataset's file is no longer stored." });
    expect(await hasTable(key)).toBe(false);
  });

  it("fails, without retrying, a dataset a store cannot hold: past 100 columns, or names only case tells apart", async () => {
    const ada = await person("store");
    const wide = `${Array.from({ length: 101 }, (_, i) => `c${i}`).join(",")}\n${Array.from({ length: 101 }, (_, i) => i).join(",")}\n`;
    const tooWide = await loaded(ada, wide);
    expect(tooWide.dataset.query).toMatchObject({
      status: "failed",
      rows: null,
      error: "The dataset has 101 columns; a store holds at most 100.",
    });
    const cased = await loaded(ada, "Price,price\n1,2\n");
    expect(cased.dataset.query).toMatchObject({
      status: "failed",
      error: 'The columns "Price" and "price" are one name to SQLite, which ignores case.',
    });
    expect(await hasTable(cased.key)).toBe(false);
  });

  it("the dead-letter queue marks a load out of retries failed, keeping its last error; a ready dataset stays ready", async () => {
    const ada = await person("store");
    const first = await loaded(ada, salesFile(10, "x").csv);
    const second = await loaded(ada, salesFile(11).csv);
    await db().update(datasets).set({ queryStatus: "pending", queryError: "storage unavailable" }).where(eq(datasets.id, first.dataset.id));
    const result = await deliver(
      "datacrafted-dataset-loads-dlq",
      [{ datasetId: first.dataset.id }, { datasetId: second.dataset.id }, { datasetId: "nope" }],
      4,
    );
    expect(result.explicitAcks).toHaveLength(3);
    expect((await getDataset(ada, first.dataset.id)).query).toMatchObject({ status: "failed", error: "storage unavailable" });
    expect((await getDataset(ada, second.dataset.id)).query).toMatchObject({ status: "ready", rows: 11 });

    await db().update(datasets).set({ queryStatus: "loading", queryError: null }).where(eq(datasets.id, second.dataset.id));
    await deliver("datacrafted-dataset-loads-dlq", [{ datasetId: second.dataset.id }]);
    expect((await getDataset(ada, second.dataset.id)).query).toMatchObject({ status: "failed", error: "The load failed on every retry." });
  });

  it("drops a malformed message without retrying it", async () => {
    const result = await deliver("datacrafted-dataset-loads", [{ datasetId: "not-a-uuid" }, { datasetId: crypto.randomUUID() }]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(result.retryMessages).toEqual([]);
  });

  it("tells the sessions on the dataset when its store is ready", async () => {
    const ada = await person("store");
    const { dataset } = await loaded(ada, salesFile(30).csv);
    const session = await json<{ id: string }>(
      await call("/api/v1/sessions", { method: "POST", token: ada.token, body: { datasetId: dataset.id } }),
      201,
    );
    await reset(dataset);
    await deliver("datacrafted-dataset-loads", [{ datasetId: dataset.id }]);
    const events = (await env.SESSION_ROOMS.get(env.SESSION_ROOMS.idFromName(session.id)).eventsAfter(0)) as unknown as RoomEvent[];
    const ready = events.filter((event) => event.type === "dataset.ready");
    expect(ready).toHaveLength(1);
    expect(ready[0]!.data).toEqual({ datasetId: dataset.id, rows: 30, loadedAt: (await getDataset(ada, dataset.id)).query.loadedAt });
  });
});

describe("stores: shared content, tenancy, purge", () => {
  it("reuses one store for identical bytes in an organization, gives another organization its own, and shows nothing across tenants", async () => {
    const ada = await person("store");
    const eve = await person("store");
    const body = salesFile(200, "shared").csv;
    const first = await loaded(ada, body);
    const second = await loaded(ada, body);
    expect(second.dataset.id).not.toBe(first.dataset.id);
    expect(storeName(second.key)).toBe(storeName(first.key));
    // The second dataset found the store loaded: the same load, not a second one.
    expect(second.dataset.query).toEqual(first.dataset.query);
    const theirs = await loaded(eve, body);
    expect(storeName(theirs.key)).not.toBe(storeName(first.key));
    expect((await storeFor(env, theirs.key).meta()).datasetId).toBe(theirs.dataset.id);
    expect((await storeFor(env, first.key).meta()).datasetId).toBe(first.dataset.id);
    // Another tenant sees neither the dataset nor its store's state.
    const hidden = await call(`/api/v1/datasets/${first.dataset.id}`, { token: eve.token });
    expect(hidden.status).toBe(404);
    expect(await hidden.text()).not.toContain("loadedAt");
  });

  it("purge deletes a store with the last dataset row that uses it", { timeout: 60_000 }, async () => {
    const ada = await person("store");
    const body = salesFile(40, "purge").csv;
    const first = await loaded(ada, body);
    const second = await loaded(ada, body);
    const ago = sql`now() - make_interval(days => 31)`;
    const purge = async () => {
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/15 * * * *" }), env, ctx);
      await waitOnExecutionContext(ctx);
    };
    await db().update(datasets).set({ deletedAt: ago }).where(eq(datasets.id, first.dataset.id));
    await purge();
    expect(await db().select().from(datasets).where(eq(datasets.id, first.dataset.id))).toEqual([]);
    // The other dataset still uses the store.
    expect(await hasTable(second.key)).toBe(true);
    expect((await storeFor(env, second.key).meta()).status).toBe("ready");

    await db().update(datasets).set({ deletedAt: ago }).where(eq(datasets.id, second.dataset.id));
    await purge();
    expect(await hasTable(second.key)).toBe(false);
    expect(await storeFor(env, second.key).meta()).toMatchObject({
      status: "pending",
      rows: 0,
      sha256: null,
      datasetId: null,
      columns: [],
    });
    // Only the (empty) metadata table that reading the status made again, and its index.
    const left = await inStore(second.key, (sql) =>
      sql.exec(`SELECT type, name FROM sqlite_master WHERE name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND type = 'table'`).toArray(),
    );
    expect(left).toEqual([{ type: "table", name: "_store_meta" }]);
    expect(await storeRows(second.key, `SELECT * FROM _store_meta`)).toEqual([]);
  });
});
