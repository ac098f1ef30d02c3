// The dataset-load queue's consumer in segments (handleDatasetLoad called directly, as the queue calls it, with a small
// INGEST_SEGMENT_BYTES): each message loads part of a UTF-8 CSV and queues the next; the store ends with exactly the file's rows,
// in order, however segments are delivered again or cut short; a deleted dataset stops; other files load in one message.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { datasets } from "../../../src/db/schema.ts";
import { startHandler } from "../../../src/lib/start-handler.ts";
import { handleDatasetLoad } from "../../../src/queues/dataset-loads/consumer.ts";
import { DatasetLoadSegment } from "../../../src/queues/dataset-loads/message.ts";
import { storeFor } from "../../../src/services/dataset-store/stub.ts";
import { BASE, checkedFetch, json, person, randomIp, type Person } from "../../support/harness.ts";
import { type DatasetBody, getDataset, inStore, newProject, settled, storeRows, upload } from "../../support/dataset-loads.ts";

const SEGMENT_BYTES = 4_096;

/**
 * The consumer's context with small segments. Its queue binding keeps what the consumer sends, so the test delivers each
 * message itself (again, out of order, or not at all); the consumer, the store and Postgres are the real ones.
 */
function consumerContext() {
  const started = startHandler({ ...env, INGEST_SEGMENT_BYTES: String(SEGMENT_BYTES) }, { test: "segments" });
  if (!started) throw new Error("configuration invalid");
  const sent: unknown[] = [];
  const queue = {
    send: async (body: unknown) => {
      sent.push(body);
    },
    sendBatch: async (messages: Iterable<{ body: unknown }>) => {
      for (const message of messages) sent.push(message.body);
    },
  } as unknown as Queue;
  const config = { ...started.config, DATASET_LOAD_QUEUE: queue };
  /** Delivers `body` once; what the queue would do with it (acknowledged or retried), and the messages it sent. */
  const deliver = async (body: unknown) => {
    const batch = createMessageBatch("datacrafted-dataset-loads", [
      { id: `segment-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body },
    ]);
    const from = sent.length;
    await handleDatasetLoad(batch.messages[0]!, config, started.db, started.logger);
    const result = await getQueueResult(batch, createExecutionContext());
    return { acked: result.explicitAcks.length === 1, retried: result.retryMessages.length === 1, sent: sent.slice(from) };
  };
  /** Delivers `first`, then every message it leads to, in order, until the load ends; the segment messages delivered. */
  const drain = async (first: unknown) => {
    const segments: DatasetLoadSegment[] = [];
    let next: unknown = first;
    while (next !== undefined) {
      const outcome = await deliver(next);
      expect(outcome).toMatchObject({ acked: true, retried: false });
      expect(outcome.sent.length).toBeLessThanOrEqual(1);
      next = outcome.sent[0];
      if (next !== undefined) segments.push(DatasetLoadSegment.parse(next));
    }
    return segments;
  };
  return { db: started.db, deliver, drain };
}

const orgOf = async (db: ReturnType<typeof consumerContext>["db"], datasetId: string) =>
  (await db.select({ orgId: datasets.orgId }).from(datasets).where(eq(datasets.id, datasetId)))[0]!.orgId;

/** Uploads `body` (its store loaded by the real queue in one go), then empties the store so the test's deliveries load it. */
async function pending(who: Person, db: ReturnType<typeof consumerContext>["db"], body: string, type = "text/csv") {
  const uploaded = await upload(who, await newProject(who), body, { type });
  return reset(db, await settled(who, uploaded.id));
}

async function reset(db: ReturnType<typeof consumerContext>["db"], dataset: DatasetBody) {
  const key = { id: dataset.id, sha256: dataset.sha256, orgId: await orgOf(db, dataset.id) };
  await storeFor(env, key).destroy();
  await db
    .update(datasets)
    .set({ queryStatus: "pending", queryRows: null, queryLoadedAt: null, queryError: null })
    .where(eq(datasets.id, dataset.id));
  return { dataset, key };
}

/** Rows with a number to sum, text with a comma and a quote, and (when `multiline`) a quoted cell holding line breaks. */
function rowsFile(count: number, { multiline = false, lineBreak = "\n", bom = false } = {}) {
  const records = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    amount: ((i * 37) % 1000) / 4,
    note: multiline ? `line one of ${i + 1}\nline two, "quoted"${lineBreak}line three ${"x".repeat(i % 50)}` : `note ${i + 1}, "q"`,
  }));
  const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;
  const lines = ["id,amount,note", ...records.map((r) => `${r.id},${r.amount},${quote(r.note)}`)];
  return { csv: `${bom ? "\uFEFF" : ""}${lines.join(lineBreak)}${lineBreak}`, records };
}

type Stored = { id: number; amount: number; note: string };

/** The store holds exactly `records`, in file order (rowid), and the dataset says ready with their count. */
async function expectLoaded(who: Person, key: Parameters<typeof storeRows>[0], records: Stored[]) {
  const dataset = await getDataset(who, key.id);
  expect(dataset.query).toMatchObject({ status: "ready", rows: records.length, error: null });
  const [totals] = await storeRows<{ n: number; total: number }>(key, `SELECT count(*) AS n, sum(amount) AS total FROM dataset`);
  expect(totals!.n).toBe(records.length);
  expect(totals!.total).toBeCloseTo(
    records.reduce((sum, r) => sum + r.amount, 0),
    6,
  );
  const stored = await storeRows<Stored & { rowid: number }>(key, `SELECT rowid, id, amount, note FROM dataset ORDER BY rowid`);
  expect(stored.map((row) => row.rowid)).toEqual(records.map((_, i) => i + 1));
  expect(stored.map(({ id, amount, note }) => ({ id, amount, note }))).toEqual(records);
}

describe("queue(): dataset loads in segments", () => {
  it("loads a CSV of many segments: each message a segment, the next queued, exactly the file's rows in order", async () => {
    const ada = await person("segments");
    const { db, drain } = consumerContext();
    const { csv, records } = rowsFile(2_000);
    const { dataset, key } = await pending(ada, db, csv);
    const segments = await drain({ datasetId: dataset.id });
    const size = new TextEncoder().encode(csv).length;
    expect(segments.length).toBeGreaterThanOrEqual(Math.floor(size / (2 * SEGMENT_BYTES)));
    // Each segment starts where the one before stopped, about SEGMENT_BYTES on (to the end of a record), with the rows before it counted.
    for (const [i, segment] of segments.entries()) {
      const length = segment.fromByte - (i > 0 ? segments[i - 1]!.fromByte : 0);
      expect(length).toBeGreaterThanOrEqual(SEGMENT_BYTES);
      expect(length).toBeLessThan(2 * SEGMENT_BYTES);
      expect(segment.loadId).toBe(segments[0]!.loadId);
      expect(segment.fromRow).toBe(segment.fromRecord - 1); // the header is a record, not a row
      expect(csv.slice(0, segment.fromByte).endsWith("\n")).toBe(true); // (ASCII: characters are bytes)
    }
    await expectLoaded(ada, key, records);
    // Progress goes on across segments: each one's first batch tells the rows stored so far, counting the segments before it.
    const room = env.SESSION_ROOMS.get(env.SESSION_ROOMS.idFromName(`dataset:${dataset.id}`));
    const events = (await room.eventsAfter(0)) as unknown as { type: string; data: { phase?: string; rowsDone?: number } }[];
    const rowsDone = new Set(events.filter((e) => e.type === "progress" && e.data.phase === "loading").map((e) => e.data.rowsDone));
    for (const [i, segment] of segments.entries()) {
      const firstBatch = Math.min((segments[i + 1]?.fromRow ?? records.length) - segment.fromRow, 5_000);
      expect(rowsDone.has(segment.fromRow + firstBatch), `rowsDone ${segment.fromRow + firstBatch}`).toBe(true);
    }
  });

  it("cuts only between records: quoted cells holding line breaks, CR LF, across every boundary", async () => {
    const ada = await person("segments");
    const { db, drain } = consumerContext();
    const { csv, records } = rowsFile(300, { multiline: true, lineBreak: "\r\n" });
    const { dataset, key } = await pending(ada, db, csv);
    const segments = await drain({ datasetId: dataset.id });
    expect(segments.length).toBeGreaterThanOrEqual(4);
    await expectLoaded(ada, key, records);
  });

  it("reads a BOM and a header once: the first column's name and the file offsets count the BOM's bytes", async () => {
    const ada = await person("segments");
    const { db, drain } = consumerContext();
    const { csv, records } = rowsFile(800, { bom: true });
    const { dataset, key } = await pending(ada, db, csv);
    expect(dataset.profile.columns.map((column) => column.name)).toEqual(["id", "amount", "note"]);
    const segments = await drain({ datasetId: dataset.id });
    expect(segments.length).toBeGreaterThan(2);
    // The BOM is 3 bytes and one character: a segment's byte is the text's offset plus 2.
    const bytes = new TextEncoder().encode(csv);
    for (const segment of segments) expect(bytes[segment.fromByte - 1]).toBe(10);
    await expectLoaded(ada, key, records);
  });

  it("leaves exactly the file's rows when segments come again: at once (busy), after a later one (stale), or after one was cut short", async () => {
    const ada = await person("segments");
    const { db, deliver, drain } = consumerContext();
    const { csv, records } = rowsFile(1_500);
    const { dataset, key } = await pending(ada, db, csv);
    const first = await deliver({ datasetId: dataset.id });
    const second = DatasetLoadSegment.parse(first.sent[0]);
    const afterSecond = await deliver(second);
    const third = DatasetLoadSegment.parse(afterSecond.sent[0]);
    // The same segment again at once: it is the one last begun and its writes are fresh, so it comes back later, as a fresh
    // message (a retry would spend the message's retries, and a long load could send it to the dead-letter queue).
    expect(await deliver(second)).toMatchObject({ acked: true, retried: false, sent: [second] });
    // A segment cut short: it began and wrote a stray batch, then its Worker died (its heartbeat went stale).
    const store = storeFor(env, key);
    const cut = await store.resumeLoad({ load: third.loadId, fromByte: third.fromByte, fromRow: third.fromRow });
    if (cut.status !== "started") throw new Error(`expected the segment to start, got ${cut.status}`);
    expect(await store.appendRows(cut.loadId, [-1, -1, "stray", -2, -2, "stray"], 2)).toEqual({ ok: true, rows: third.fromRow + 2 });
    await inStore(key, (sql) => sql.exec(`UPDATE _store_meta SET value = '2000-01-01T00:00:00.000Z' WHERE key = 'heartbeat'`));
    // Its redelivery takes over: the stray rows go, the segment is written again and the next one queued.
    const again = await deliver(third);
    expect(again).toMatchObject({ acked: true, retried: false });
    expect(await storeRows(key, `SELECT count(*) AS n FROM dataset WHERE note = 'stray'`)).toEqual([{ n: 0 }]);
    // The second segment once more, now that a later one has begun: dropped, nothing written, nothing queued.
    const before = await storeRows(key, `SELECT count(*) AS n FROM dataset`);
    expect(await deliver(second)).toMatchObject({ acked: true, retried: false, sent: [] });
    expect(await storeRows(key, `SELECT count(*) AS n FROM dataset`)).toEqual(before);
    // The cut-short writer's late batch is refused: a segment's writer is its own.
    // (Awaited in a function of its own: an RPC's promise is reported unhandled when handed to expect() as is.)
    const refusal = async () => {
      try {
        await store.appendRows(cut.loadId, [-3, -3, "late"], 1);
        return null;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    };
    expect(await refusal()).toMatch(/superseded/);
    await drain(again.sent[0]);
    await expectLoaded(ada, key, records);
  });

  it("lets the retry of a segment that gave up (it threw) take over at once, rather than wait as busy", async () => {
    const ada = await person("segments");
    const { db, deliver, drain } = consumerContext();
    const { csv, records } = rowsFile(1_000);
    const { dataset, key } = await pending(ada, db, csv);
    const next = DatasetLoadSegment.parse((await deliver({ datasetId: dataset.id })).sent[0]);
    // The segment began and wrote a batch; then R2 or the store failed it, and it let go before being retried.
    const store = storeFor(env, key);
    const began = await store.resumeLoad({ load: next.loadId, fromByte: next.fromByte, fromRow: next.fromRow });
    if (began.status !== "started") throw new Error(`expected the segment to start, got ${began.status}`);
    expect(await store.appendRows(began.loadId, [-1, -1, "stray"], 1)).toMatchObject({ ok: true });
    expect(await store.resumeLoad({ load: next.loadId, fromByte: next.fromByte, fromRow: next.fromRow })).toEqual({ status: "busy" });
    await store.releaseLoad(began.loadId);
    const retried = await deliver(next);
    expect(retried).toMatchObject({ acked: true, retried: false });
    await drain(retried.sent[0]);
    await expectLoaded(ada, key, records);
  });

  it("stops when the dataset is deleted mid-load: the next segment writes nothing and queues nothing", async () => {
    const ada = await person("segments");
    const { db, deliver } = consumerContext();
    const { csv } = rowsFile(1_000);
    const { dataset, key } = await pending(ada, db, csv);
    const first = await deliver({ datasetId: dataset.id });
    const next = DatasetLoadSegment.parse(first.sent[0]);
    await db.update(datasets).set({ deletedAt: sql`now()` }).where(eq(datasets.id, dataset.id));
    expect(await deliver(next)).toMatchObject({ acked: true, retried: false, sent: [] });
    expect(await storeRows(key, `SELECT count(*) AS n FROM dataset`)).toEqual([{ n: next.fromRow }]);
    expect((await storeFor(env, key).meta()).status).toBe("loading");
  });

  it("stamps every segment as taken, so the cron's sweep does not take a load whose segments are flowing for a stuck one", async () => {
    const ada = await person("segments");
    const { db, deliver } = consumerContext();
    const { dataset } = await pending(ada, db, rowsFile(1_000).csv);
    const first = await deliver({ datasetId: dataset.id });
    // As if the load had begun long ago (the sweep takes one untouched for 15 minutes): the next segment stamps it again.
    await db.update(datasets).set({ queryQueuedAt: sql`now() - interval '1 hour'` }).where(eq(datasets.id, dataset.id));
    await deliver(first.sent[0]);
    const [row] = await db
      .select({ status: datasets.queryStatus, stale: sql<boolean>`${datasets.queryQueuedAt} < now() - interval '15 minutes'` })
      .from(datasets)
      .where(eq(datasets.id, dataset.id));
    // (The sweep's own test covers what it takes; it is not run here, where it would take other tests' stale datasets.)
    expect(row).toEqual({ status: "loading", stale: false });
  });

  it("loads NDJSON and a CSV in another encoding in one message, as before", async () => {
    const ada = await person("segments");
    const { db, drain } = consumerContext();
    const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify({ id: i + 1, amount: i / 4, note: `n${i}` }));
    const ndjson = await pending(ada, db, lines.join("\n"), "application/x-ndjson");
    expect(await drain({ datasetId: ndjson.dataset.id })).toEqual([]);
    expect((await getDataset(ada, ndjson.dataset.id)).query).toMatchObject({ status: "ready", rows: 400 });

    // windows-1252: é is one byte (0xE9), so the scanner's offsets (of the UTF-8 it is given) are not the file's.
    const text = `id,amount,note\n${Array.from({ length: 400 }, (_, i) => `${i + 1},${i / 4},caf\u00e9 ${i}`).join("\n")}\n`;
    const bytes = Uint8Array.from(text, (char) => char.charCodeAt(0));
    const response = await checkedFetch(`${BASE}/api/v1/projects/${await newProject(ada)}/datasets?name=latin&encoding=windows-1252`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ada.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": randomIp() },
      body: bytes,
    });
    const latin = await reset(db, await settled(ada, (await json<DatasetBody>(response, 201)).id));
    expect(await drain({ datasetId: latin.dataset.id })).toEqual([]);
    expect((await getDataset(ada, latin.dataset.id)).query).toMatchObject({ status: "ready", rows: 400 });
    expect(await storeRows(latin.key, `SELECT note FROM dataset WHERE id = 400`)).toEqual([{ note: "caf\u00e9 399" }]);
  });
});
