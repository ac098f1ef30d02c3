// The dataset-load queue's consumer: loads a dataset into its store, records the outcome on the dataset, tells its sessions.
import { sendUsage } from "../../services/usage/record.ts";
import { and, eq, isNull, ne, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { analysisSessions, datasets } from "../../db/schema.ts";
import { publish } from "../../durable-objects/session-room/room.ts";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { describeError } from "../../lib/logger.ts";
import type { Dataset } from "../../lib/tenancy.ts";
import { storeFor } from "../../services/dataset-store/stub.ts";
import { ApiError } from "../../lib/problem.ts";
import type { ResumeResult } from "../../durable-objects/dataset-store/load.ts";
import { replaceEstimates } from "./exact-stats.ts";
import { DatasetLoadMessage, type DatasetLoadSegment } from "./message.ts";
import { emitEvent } from "../../services/webhooks/events.ts";
import { streamRows } from "./stream.ts";
import { publishDatasetEvent, throttled } from "../../services/uploads/progress.ts";
import { LoadError, type SqlValue } from "./values.ts";

/** Batches sent to the store before the first is answered (15,000-row batches, two in flight, ran past the bench's 64 MB heap cap). */
const BATCHES_IN_FLIGHT = 3;

/** 10 s, 20 s, 40 s… capped at 5 minutes. */
const backoffSeconds = (attempts: number) => Math.min(300, 10 * 2 ** Math.max(0, attempts - 1));

/** Tells every live session on the dataset (their event streams), and the dataset's own stream, what became of its store. */
async function tellSessions(config: Config, db: Database, logger: Logger, datasetId: string, type: string, data: unknown) {
  await publishDatasetEvent(config, logger, datasetId, type.replace(/^dataset\./, ""), data);
  const sessions = await db
    .select({ id: analysisSessions.id })
    .from(analysisSessions)
    .where(and(eq(analysisSessions.datasetId, datasetId), isNull(analysisSessions.deletedAt)));
  await Promise.all(sessions.map((session) => publish(config, logger, session.id, type, data)));
}

/** What one message's part of a load came to: the load's end, a next segment sent, or nothing (busy, stale). */
type LoadOutcome = Exclude<ResumeResult, { status: "started" }> | { status: "continued" };

/**
 * Loads the dataset's file into its store, or (a UTF-8 CSV past INGEST_SEGMENT_BYTES) one segment of it: begin (a fresh table,
 * or the answer that it is ready, failed or busy) or resume (a later segment), every batch of rows, then finish, or queue the
 * next segment. A file that cannot be loaded fails the load; anything else throws.
 */
async function load(config: Config, logger: Logger, dataset: Dataset, from: DatasetLoadSegment | null): Promise<LoadOutcome> {
  const store = storeFor(config, dataset);
  const columns = dataset.profile.columns.map(({ name, type }) => ({ name, type }));
  const begun = from
    ? await store.resumeLoad({ load: from.loadId, fromByte: from.fromByte, fromRow: from.fromRow })
    : await store.beginLoad({ datasetId: dataset.id, sha256: dataset.sha256, columns });
  if (begun.status !== "started") return begun;
  // The segment's own writer; a later segment presents the load's id (the first segment's).
  const { loadId } = begun;
  // A few batches in flight: the store takes them in order, and the wait for one's write to be confirmed overlaps the next.
  const inFlight: Promise<void>[] = [];
  // Rows in the store so far (earlier segments' too), on the dataset's event stream about once a second.
  let rowsDone = from?.fromRow ?? 0;
  const progress = throttled(1_000, () =>
    publishDatasetEvent(config, logger, dataset.id, "progress", {
      phase: "loading",
      bytesDone: dataset.sizeBytes,
      bytesTotal: dataset.sizeBytes,
      rowsDone,
      rowsTotal: dataset.rowCount,
    }),
  );
  const append = async (values: SqlValue[], rows: number) => {
    const appended = await store.appendRows(loadId, values, rows);
    if (!appended.ok) throw new LoadError(appended.error);
    rowsDone += rows;
    await progress();
  };
  const file = { r2Key: dataset.r2Key, parse: dataset.parseOptions, columns };
  let next;
  try {
    next = await streamRows(
      config.DATASETS,
      file,
      async (values, rows) => {
        const sent = append(values, rows);
        sent.catch(() => {}); // awaited below; this only keeps an early failure from being reported as unhandled
        inFlight.push(sent);
        if (inFlight.length >= BATCHES_IN_FLIGHT) await inFlight.shift();
      },
      { bytes: config.INGEST_SEGMENT_BYTES, from: from ?? undefined },
    );
    for (const sent of inFlight.splice(0)) await sent;
  } catch (error) {
    await Promise.allSettled(inFlight);
    if (error instanceof LoadError || error instanceof ApiError)
      return store.failLoad(loadId, error instanceof ApiError ? error.detail : error.message);
    // Retried later: the retry may take over at once (the store may be what failed, so this may fail too).
    await store.releaseLoad(loadId).catch(() => {});
    throw error;
  }
  if (next) {
    // Every row before it is in the store: the next segment goes on from there (sent before this message is acknowledged).
    const segment = { datasetId: dataset.id, loadId: from?.loadId ?? loadId, fromRow: rowsDone, ...next } satisfies DatasetLoadSegment;
    try {
      await config.DATASET_LOAD_QUEUE.send(segment, { contentType: "json" });
    } catch (error) {
      await store.releaseLoad(loadId).catch(() => {});
      throw error;
    }
    return { status: "continued" };
  }
  return store.finishLoad(loadId, dataset.rowCount);
}

export async function handleDatasetLoad(message: Message<unknown>, config: Config, db: Database, logger: Logger): Promise<void> {
  const parsed = DatasetLoadMessage.safeParse(message.body);
  if (!parsed.success) {
    logger.error("dataset load message malformed; dropped", { messageId: message.id });
    message.ack();
    return;
  }
  const { datasetId } = parsed.data;
  const from = "loadId" in parsed.data ? parsed.data : null;
  const [dataset] = await db.select().from(datasets).where(eq(datasets.id, datasetId));
  // Gone, deleted meanwhile (a load in segments stops here), or loaded by an earlier delivery: nothing to do.
  if (!dataset || dataset.deletedAt || dataset.queryStatus === "ready") {
    message.ack();
    return;
  }
  // Stamped as taken, by every segment: the cron's sweep of stuck loads (src/cron/requeue-dataset-loads.ts) counts from here.
  await db
    .update(datasets)
    .set({ queryStatus: "loading", queryQueuedAt: sql`now()` })
    .where(and(eq(datasets.id, datasetId), ne(datasets.queryStatus, "ready")));
  let result;
  try {
    result = await load(config, logger, dataset, from);
  } catch (error) {
    // The store or R2 was unwell: back to pending with the error on record, and another delivery later (the DLQ makes it final).
    const detail = error instanceof Error ? error.message : String(error);
    logger.warn("dataset load failed; retrying", { datasetId, attempts: message.attempts, ...describeError(error) });
    await db
      .update(datasets)
      .set({ queryStatus: "pending", queryError: detail, queryQueuedAt: sql`now()` })
      .where(and(eq(datasets.id, datasetId), ne(datasets.queryStatus, "ready")));
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    return;
  }
  if (result.status === "busy") {
    // Another delivery is loading it right now (another version with the same bytes shares the store): look again once it
    // should be done. A fresh message, not a retry: a long load (many segments) must not spend this one's retries into the
    // dead-letter queue, which would fail a dataset whose store is about to be ready.
    try {
      await config.DATASET_LOAD_QUEUE.send(parsed.data, { contentType: "json", delaySeconds: 30 });
      message.ack();
    } catch {
      message.retry({ delaySeconds: 30 });
    }
    return;
  }
  if (result.status === "continued" || result.status === "stale") {
    // The next segment is queued; or this one is not the load's next (a redelivery, a load started over), so it is dropped.
    if (result.status === "stale") logger.info("dataset load segment stale; dropped", { datasetId, fromByte: from?.fromByte });
    message.ack();
    return;
  }
  if (result.status === "ready") {
    const loadedAt = new Date(result.loadedAt);
    await db
      .update(datasets)
      .set({ queryStatus: "ready", queryRows: result.rows, queryLoadedAt: loadedAt, queryError: null })
      .where(eq(datasets.id, datasetId));
    logger.info("dataset loaded", { datasetId, rows: result.rows, reused: result.reused });
    // A store another version already filled loaded nothing new.
    if (!result.reused) await sendUsage(config, logger, dataset.orgId, { rowsLoaded: result.rows });
    await tellSessions(config, db, logger, datasetId, "dataset.ready", { datasetId, rows: result.rows, loadedAt: result.loadedAt });
    const ready = { datasetId, projectId: dataset.projectId, version: dataset.version, rows: result.rows, loadedAt: result.loadedAt };
    await emitEvent({ config, logger }, dataset.orgId, "dataset.ready", ready);
    await replaceEstimates(config, db, logger, dataset);
  } else {
    await db
      .update(datasets)
      .set({ queryStatus: "failed", queryError: result.error })
      .where(and(eq(datasets.id, datasetId), ne(datasets.queryStatus, "ready")));
    logger.warn("dataset load failed for good", { datasetId, error: result.error });
    await tellSessions(config, db, logger, datasetId, "dataset.failed", { datasetId, error: result.error });
    const failed = { datasetId, projectId: dataset.projectId, version: dataset.version, error: result.error };
    await emitEvent({ config, logger }, dataset.orgId, "dataset.failed", failed);
  }
  message.ack();
}

/** The dead-letter queue: a load out of retries fails for good, with the last error it recorded. */
export async function handleDatasetLoadDeadLetter(message: Message<unknown>, config: Config, db: Database, logger: Logger): Promise<void> {
  const parsed = DatasetLoadMessage.safeParse(message.body);
  if (!parsed.success) {
    message.ack();
    return;
  }
  const { datasetId } = parsed.data;
  const [failed] = await db
    .update(datasets)
    .set({ queryStatus: "failed", queryError: sql`coalesce(${datasets.queryError}, 'The load failed on every retry.')` })
    .where(and(eq(datasets.id, datasetId), ne(datasets.queryStatus, "ready")))
    .returning({ error: datasets.queryError, orgId: datasets.orgId, projectId: datasets.projectId, version: datasets.version });
  if (failed) {
    logger.warn("dataset load dead-lettered", { datasetId });
    await tellSessions(config, db, logger, datasetId, "dataset.failed", { datasetId, error: failed.error });
    const event = { datasetId, projectId: failed.projectId, version: failed.version, error: failed.error };
    await emitEvent({ config, logger }, failed.orgId, "dataset.failed", event);
  }
  message.ack();
}
