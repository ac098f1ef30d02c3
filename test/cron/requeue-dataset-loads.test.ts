// The stuck-load sweep through scheduled(): a store stuck pending or loading goes back on the queue and loads; a dataset never
// queued is backfilled; a fresh, ready or deleted one is left alone; a run takes at most batchSize, oldest first.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { requeueDatasetLoads } from "../../src/cron/requeue-dataset-loads.ts";
import { createDb } from "../../src/db/client.ts";
import { datasets } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";
import { storeFor } from "../../src/services/dataset-store/stub.ts";
import { person } from "../support/harness.ts";
import { getDataset, hasTable, newProject, settled, storeRows, upload } from "../support/dataset-loads.ts";

const db = () => createDb(env);

async function runScheduled() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/15 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** A file of `rows` rows, its values known here: n is 1…rows, so the store's sum is rows·(rows+1)/2. */
const numbers = (rows: number, tag: string) => `n,tag\n${Array.from({ length: rows }, (_, i) => `${i + 1},${tag}`).join("\n")}\n`;

async function queuedAt(id: string) {
  const [row] = await db().select({ at: datasets.queryQueuedAt, status: datasets.queryStatus }).from(datasets).where(eq(datasets.id, id));
  return row!;
}

/** Uploads a file and waits for its load, then empties its store and sets the dataset's row as a stuck or lost load leaves it. */
async function stuckDataset(
  who: Awaited<ReturnType<typeof person>>,
  rows: number,
  state: { status: "pending" | "loading"; queuedAt: string | null; createdAt: string },
) {
  const dataset = await settled(who, (await upload(who, await newProject(who), numbers(rows, crypto.randomUUID()))).id);
  expect(dataset.query.status).toBe("ready");
  const [row] = await db().select({ orgId: datasets.orgId }).from(datasets).where(eq(datasets.id, dataset.id));
  const key = { id: dataset.id, sha256: dataset.sha256, orgId: row!.orgId };
  await storeFor(env, key).destroy();
  await db()
    .update(datasets)
    .set({
      queryStatus: state.status,
      queryRows: null,
      queryLoadedAt: null,
      queryQueuedAt: state.queuedAt === null ? null : sql`now() - ${state.queuedAt}::interval`,
      createdAt: sql`now() - ${state.createdAt}::interval`,
    })
    .where(eq(datasets.id, dataset.id));
  return { id: dataset.id, key, rows };
}

describe("scheduled(): stuck dataset loads", () => {
  it("requeues stuck loads and backfills never-queued datasets, which then load; leaves fresh, ready and deleted ones alone", {
    timeout: 120_000,
  }, async () => {
    const ada = await person("sweep");
    const neverQueued = await stuckDataset(ada, 120, { status: "pending", queuedAt: null, createdAt: "30 days" });
    const diedLoading = await stuckDataset(ada, 80, { status: "loading", queuedAt: "1 hour", createdAt: "2 hours" });
    const retrying = await stuckDataset(ada, 40, { status: "pending", queuedAt: "1 minute", createdAt: "2 hours" });
    const deleted = await stuckDataset(ada, 30, { status: "pending", queuedAt: null, createdAt: "30 days" });
    await db().update(datasets).set({ deletedAt: sql`now()` }).where(eq(datasets.id, deleted.id));
    const ready = await settled(ada, (await upload(ada, await newProject(ada), numbers(10, crypto.randomUUID()))).id);
    await db().update(datasets).set({ createdAt: sql`now() - interval '30 days'` }).where(eq(datasets.id, ready.id));
    const before = { retrying: await queuedAt(retrying.id), deleted: await queuedAt(deleted.id), ready: await queuedAt(ready.id) };

    await runScheduled();

    // The two stuck ones were stamped and sent; the consumer loads each from its file.
    for (const stuck of [neverQueued, diedLoading]) {
      const loaded = await settled(ada, stuck.id);
      expect(loaded.query).toMatchObject({ status: "ready", rows: stuck.rows, error: null });
      expect(await storeRows(stuck.key, `SELECT count(*) AS n, sum(n) AS total FROM dataset`)).toEqual([
        { n: stuck.rows, total: (stuck.rows * (stuck.rows + 1)) / 2 },
      ]);
    }
    // Untouched: not stamped (so not picked), and no store was built for them.
    expect(await queuedAt(retrying.id)).toEqual(before.retrying);
    expect(await queuedAt(deleted.id)).toEqual(before.deleted);
    expect(await queuedAt(ready.id)).toEqual(before.ready);
    expect((await getDataset(ada, retrying.id)).query.status).toBe("pending");
    expect(await hasTable(retrying.key)).toBe(false);
    expect(await hasTable(deleted.key)).toBe(false);
  });

  it("takes at most batchSize a run, oldest first, and does not send a dataset twice in a row", { timeout: 120_000 }, async () => {
    const ada = await person("sweep");
    // Older than anything another test leaves, so these are the oldest stuck datasets in the database.
    const oldest = await stuckDataset(ada, 5, { status: "pending", queuedAt: null, createdAt: "20 years" });
    const older = await stuckDataset(ada, 6, { status: "loading", queuedAt: "19 years", createdAt: "19 years" });

    expect(await requeueDatasetLoads(db(), env.DATASET_LOAD_QUEUE, { batchSize: 1 })).toEqual({ requeued: 0, backfilled: 1 });
    expect((await queuedAt(oldest.id)).at).not.toBeNull();
    expect(await queuedAt(older.id)).toMatchObject({ status: "loading" });
    const olderStamp = (await db().select({ at: datasets.queryQueuedAt }).from(datasets).where(eq(datasets.id, older.id)))[0]!.at;
    expect(Date.now() - olderStamp!.getTime()).toBeGreaterThan(18 * 365 * 24 * 3600 * 1000);

    // The next run skips the one just sent (stamped now) and takes the next oldest.
    expect(await requeueDatasetLoads(db(), env.DATASET_LOAD_QUEUE, { batchSize: 1 })).toEqual({ requeued: 1, backfilled: 0 });
    for (const stuck of [oldest, older]) expect((await settled(ada, stuck.id)).query).toMatchObject({ status: "ready", rows: stuck.rows });
    const stamps = await db()
      .select({ at: datasets.queryQueuedAt })
      .from(datasets)
      .where(inArray(datasets.id, [oldest.id, older.id]));
    for (const { at } of stamps) expect(Date.now() - at!.getTime()).toBeLessThan(3600 * 1000);
  });
});
