// The dataset-ingest queue's consumer: a finished resumable upload's object, read from R2 through the upload profiler,
// becomes a dataset version (then its store loads, as after any upload), with progress on the dataset's event stream.
// A UTF-8 CSV larger than INGEST_SEGMENT_BYTES goes in segments, a message each (segments.ts); any other file in one.
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { projects, resumableUploads } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { describeError } from "../../lib/logger.ts";
import { ApiError } from "../../lib/problem.ts";
import type { ResumableUpload } from "../../lib/tenancy.ts";
import { BodyReader } from "../../services/datasets/body-reader.ts";
import type { ChunkReader } from "../../services/datasets/encoding.ts";
import { type Ingested, ingestedOf, ingestStoredBinary, type Limits, profileBytes } from "../../services/datasets/ingest.ts";
import { isBinaryFormat } from "../../services/datasets/formats/tabular.ts";
import type { ParseOptions } from "../../services/datasets/parsers.ts";
import { overridesOf, ProjectGoneError, saveDataset } from "../../services/datasets/store.ts";
import { publishDatasetEvent, throttled } from "../../services/uploads/progress.ts";
import { queueDatasetLoad } from "../dataset-loads/enqueue.ts";
import { DatasetIngestMessage } from "./message.ts";
import { checkpointKey, ingestSegment, isSegmented } from "./segments.ts";
import { tooLargeForOneJob } from "../../services/uploads/tus.ts";

/** A progress event at most this often. */
const PROGRESS_MS = 1_000;
const backoffSeconds = (attempts: number) => Math.min(300, 10 * 2 ** Math.max(0, attempts - 1));
const toHex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, "0")).join("");

/** How the file is read, from its Upload-Metadata (checked when the upload was created). */
function parseOptionsOf(upload: ResumableUpload): ParseOptions {
  const encoding = upload.metadata.encoding as ParseOptions["encoding"];
  return upload.metadata.onError === "skip" ? { format: upload.format, encoding, onError: "skip" } : { format: upload.format, encoding };
}

/** The upload failed for good (a file that cannot be a dataset, or its project gone): its object removed, the reason kept. */
async function fail(config: Config, db: Database, logger: Logger, upload: ResumableUpload, error: string) {
  await config.DATASETS.delete([upload.r2Key, checkpointKey(upload.id)]).catch(() => {});
  await db
    .update(resumableUploads)
    .set({ status: "failed", error, updatedAt: sql`now()` })
    .where(and(eq(resumableUploads.id, upload.id), eq(resumableUploads.status, "processing")));
  logger.warn("resumable upload failed", { uploadId: upload.id, error });
  await publishDatasetEvent(config, logger, upload.datasetId, "failed", { datasetId: upload.datasetId, error });
}

/**
 * Profiles the stored object and saves the dataset version: in one pass (hashing and counting its bytes on the way), or
 * for a big CSV this message's segment (the version is saved by the last).
 */
async function ingestUpload(config: Config, db: Database, logger: Logger, upload: ResumableUpload, fromByte: number | undefined) {
  const [project] = await db
    .select()
    .from(projects)
    .where(and(eq(projects.id, upload.projectId), isNull(projects.deletedAt)));
  if (!project) throw new ProjectGoneError();
  const limits = {
    maxBytes: config.MAX_RESUMABLE_UPLOAD_BYTES,
    maxRows: config.MAX_ROWS,
    maxColumns: config.MAX_COLUMNS,
    maxDepth: config.MAX_JSON_DEPTH,
  };
  // The name's type overrides carry over to this version, as for a direct upload.
  const types = await overridesOf(db, project.id, upload.name);
  const parse = { ...parseOptionsOf(upload), ...(types ? { types } : {}) };
  let ingested: Ingested | null;
  const segmented = await isSegmented(config, upload, parse, fromByte);
  // Checked at creation from the metadata; a CSV found to be UTF-16 (its byte order mark) only now.
  if (!segmented && upload.length > config.MAX_SINGLE_JOB_UPLOAD_BYTES) throw tooLargeForOneJob(upload.format, config);
  if (segmented) {
    let progressed = { bytesDone: 0, rowsDone: 0 };
    const progress = throttled(PROGRESS_MS, () =>
      publishDatasetEvent(config, logger, upload.datasetId, "progress", { phase: "profiling", ...progressed, bytesTotal: upload.length }),
    );
    ingested = await ingestSegment({
      config,
      logger,
      upload,
      parse,
      limits,
      fromByte,
      progress: (bytesDone, rowsDone, force) => {
        progressed = { bytesDone, rowsDone };
        return progress(force);
      },
      touch: async () => {
        await db.update(resumableUploads).set({ updatedAt: sql`now()` }).where(eq(resumableUploads.id, upload.id));
      },
    });
    if (!ingested) return;
  } else ingested = await ingestInOnePass(config, logger, upload, parse, limits);
  await saveIngested(config, db, logger, upload, project, ingested);
  if (segmented) await config.DATASETS.delete(checkpointKey(upload.id));
}

/** The whole object in this message: profiled (or for Parquet and Excel, read by range) while hashed and counted. */
async function ingestInOnePass(config: Config, logger: Logger, upload: ResumableUpload, parse: ParseOptions, limits: Limits) {
  const object = await config.DATASETS.get(upload.r2Key);
  if (!object) throw new ApiError(422, { detail: "The uploaded file is no longer stored." });
  const body = new BodyReader(object.body);
  const digest = new crypto.DigestStream("SHA-256");
  const hasher = digest.getWriter();
  let bytesDone = 0;
  let rowsDone = 0;
  const progress = throttled(PROGRESS_MS, () =>
    publishDatasetEvent(config, logger, upload.datasetId, "progress", {
      phase: "profiling",
      bytesDone,
      bytesTotal: upload.length,
      rowsDone,
    }),
  );
  const reader: ChunkReader = {
    read: async () => {
      const chunk = await body.read();
      if (chunk) {
        bytesDone += chunk.length;
        await hasher.write(chunk);
        await progress();
      }
      return chunk;
    },
    cancel: (reason) => body.cancel(reason),
  };
  let ingested: Ingested;
  if (isBinaryFormat(parse.format)) {
    // Parquet and Excel are read by range from the stored object; this pass only hashes and counts its bytes.
    try {
      while (await reader.read());
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error;
    }
    await hasher.close();
    ingested = await ingestStoredBinary(config.DATASETS, upload.r2Key, parse, limits, bytesDone, toHex(await digest.digest));
    rowsDone = ingested.rowCount;
    await progress(true);
  } else {
    const profiled = await profileBytes(reader, parse, limits).catch(async (error: unknown) => {
      await reader.cancel().catch(() => {});
      throw error;
    });
    await hasher.close();
    rowsDone = profiled.rows.rowCount;
    await progress(true);
    ingested = ingestedOf(profiled, bytesDone, toHex(await digest.digest));
  }
  return ingested;
}

/** The dataset version saved from the upload's figures, the upload ready, the store's load queued. */
async function saveIngested(
  config: Config,
  db: Database,
  logger: Logger,
  upload: ResumableUpload,
  project: typeof projects.$inferSelect,
  ingested: Ingested,
) {
  const dataset = await saveDataset(db, config.DATASETS, {
    id: upload.datasetId,
    project,
    name: upload.name,
    format: upload.format,
    key: upload.r2Key,
    ingested,
    userId: upload.createdBy as string,
    // A save that failed for now is retried with the same object; `fail` removes it when the upload fails for good.
    keepFileOnError: true,
  });
  if (dataset.id !== upload.datasetId) await config.DATASETS.delete(upload.r2Key); // the same bytes again: the dataset that has them
  await db
    .update(resumableUploads)
    .set({ status: "ready", datasetId: dataset.id, error: null, updatedAt: sql`now()` })
    .where(eq(resumableUploads.id, upload.id));
  await publishDatasetEvent(config, logger, upload.datasetId, "saved", {
    datasetId: dataset.id,
    version: dataset.version,
    rowCount: dataset.rowCount,
    duplicate: dataset.id !== upload.datasetId,
  });
  await queueDatasetLoad(config, logger, dataset);
  if (dataset.queryStatus === "ready")
    await publishDatasetEvent(config, logger, upload.datasetId, "ready", { datasetId: dataset.id, rows: dataset.queryRows });
  logger.info("resumable upload ingested", {
    uploadId: upload.id,
    datasetId: dataset.id,
    bytes: ingested.sizeBytes,
    rows: dataset.rowCount,
  });
}

export async function handleDatasetIngest(message: Message<unknown>, config: Config, db: Database, logger: Logger): Promise<void> {
  const parsed = DatasetIngestMessage.safeParse(message.body);
  if (!parsed.success) {
    logger.error("dataset ingest message malformed; dropped", { messageId: message.id });
    message.ack();
    return;
  }
  const [upload] = await db.select().from(resumableUploads).where(eq(resumableUploads.id, parsed.data.uploadId));
  // Gone (terminated), or done by an earlier delivery.
  if (!upload || upload.status !== "processing") {
    message.ack();
    return;
  }
  try {
    await ingestUpload(config, db, logger, upload, parsed.data.fromByte);
  } catch (error) {
    if (error instanceof ApiError && error.status < 500) await fail(config, db, logger, upload, error.detail);
    else if (error instanceof ProjectGoneError) await fail(config, db, logger, upload, "The project was deleted.");
    else {
      logger.warn("dataset ingest failed; retrying", { uploadId: upload.id, attempts: message.attempts, ...describeError(error) });
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
      return;
    }
  }
  message.ack();
}

/** The dead-letter queue: an ingest out of retries fails for good. */
export async function handleDatasetIngestDeadLetter(
  message: Message<unknown>,
  config: Config,
  db: Database,
  logger: Logger,
): Promise<void> {
  const parsed = DatasetIngestMessage.safeParse(message.body);
  if (parsed.success) {
    const [upload] = await db.select().from(resumableUploads).where(eq(resumableUploads.id, parsed.data.uploadId));
    if (upload?.status === "processing") await fail(config, db, logger, upload, "Processing the file failed on every retry.");
  }
  message.ack();
}
