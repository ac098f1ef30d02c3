// A big UTF-8 CSV's ingest in segments, one queue message each, so that no invocation nears Workers' CPU limit: the first
// message hashes the whole object (native SHA-256, far cheaper than parsing), each next one profiles about
// INGEST_SEGMENT_BYTES from `fromByte` (an R2 range read) and leaves its state in R2 for the one after; the last gives the
// dataset version's figures. The checkpoint names the offset it reached and the segment that wrote it, so a message
// delivered twice, or one that failed half-way, is acked or re-run from the checkpoint before it, never counted twice.
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { ApiError } from "../../lib/problem.ts";
import type { ResumableUpload } from "../../lib/tenancy.ts";
import { BodyReader } from "../../services/datasets/body-reader.ts";
import { bomOf } from "../../services/datasets/encoding.ts";
import { type CsvCheckpoint, type Ingested, ingestedOf, type Limits, profileCsvSegment } from "../../services/datasets/ingest.ts";
import type { ParseOptions } from "../../services/datasets/parsers.ts";
import type { DatasetIngestMessage } from "./message.ts";

/** What R2 holds between two messages of one upload. */
interface Checkpoint {
  sha256: string;
  /** The segment (its first byte) that wrote this; null for the hashing step. */
  from: number | null;
  /** Where the next segment starts. */
  reached: number;
  /** Null until a segment was profiled. */
  csv: CsvCheckpoint | null;
}

export const checkpointKey = (uploadId: string) => `checkpoints/${uploadId}`;

const gone = () => new ApiError(422, { detail: "The uploaded file is no longer stored." });
const toHex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, "0")).join("");

export interface SegmentJob {
  config: Config;
  logger: Logger;
  upload: ResumableUpload;
  parse: ParseOptions;
  limits: Limits;
  /** Where the message says to start; undefined for the upload's first message. */
  fromByte: number | undefined;
  /** Bytes done and rows done so far, for the progress events. */
  progress: (bytesDone: number, rowsDone: number, force?: boolean) => Promise<void>;
  /** Called once a segment's checkpoint is stored: the upload is alive (the cron requeues uploads untouched for long). */
  touch: () => Promise<void>;
}

/**
 * Whether the upload is ingested in segments: a CSV larger than one segment, read as UTF-8 (declared so, or not declared
 * and without a UTF-16 byte order mark). Everything else (other encodings, JSON, NDJSON, Parquet, Excel) is one message.
 */
export async function isSegmented(config: Config, upload: ResumableUpload, parse: ParseOptions, fromByte: number | undefined) {
  if (fromByte !== undefined) return true; // a chain under way goes on by its checkpoint (whatever the setting is now)
  if (!segmentable(parse.format, parse.encoding) || upload.length <= config.INGEST_SEGMENT_BYTES) return false;
  const head = await config.DATASETS.get(upload.r2Key, { range: { offset: 0, length: 3 } });
  if (!head) return false; // (the one pass says the file is gone)
  const bom = bomOf(new Uint8Array(await head.arrayBuffer()));
  return bom === undefined || bom === "utf-8";
}

/** What can go in segments, as declared: a CSV read as UTF-8 (a UTF-16 byte order mark, found later, still makes it one job). */
export const segmentable = (format: string, encoding: string | undefined) => format === "csv" && (!encoding || encoding === "utf-8");

const send = (config: Config, upload: ResumableUpload, fromByte?: number) =>
  config.DATASET_INGEST_QUEUE.send(
    { uploadId: upload.id, ...(fromByte === undefined ? {} : { fromByte }) } satisfies DatasetIngestMessage,
    {
      contentType: "json",
    },
  );

/** The whole object through crypto.DigestStream: the file's SHA-256, in a pass that parses nothing. */
async function hashObject(bucket: R2Bucket, key: string): Promise<string> {
  const object = await bucket.get(key);
  if (!object) throw gone();
  const digest = new crypto.DigestStream("SHA-256");
  // Each write awaited, not pipeTo: the digest's writable takes writes without backpressure, so a pipe read the whole object
  // into its queue (the bench's 64 MB isolate ran out of heap on a 1 GB file).
  const reader = new BodyReader(object.body);
  const hasher = digest.getWriter();
  try {
    for (let chunk = await reader.read(); chunk; chunk = await reader.read()) await hasher.write(chunk);
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  await hasher.close();
  return toHex(await digest.digest);
}

/**
 * One message's step: hashing (the first message), or one segment. Returns the dataset version's figures when the
 * file's last segment was profiled, else null (the next message is sent, or this one had nothing left to do).
 */
export async function ingestSegment(job: SegmentJob): Promise<Ingested | null> {
  const { config, upload, fromByte } = job;
  const bucket = config.DATASETS;
  const key = checkpointKey(upload.id);
  const stored = await bucket.get(key);
  const checkpoint = stored ? await stored.json<Checkpoint>() : null;
  if (fromByte === undefined) {
    // Started again (a redelivery, or the cron requeuing a long chain): the chain goes on from its checkpoint.
    if (checkpoint) {
      await send(config, upload, checkpoint.reached);
      return null;
    }
    const sha256 = await hashObject(bucket, upload.r2Key);
    const first: Checkpoint = { sha256, from: null, reached: 0, csv: null };
    // Only where there is none: a copy of this message that hashed sooner has started the chain.
    if (!(await bucket.put(key, JSON.stringify(first), { onlyIf: { etagDoesNotMatch: "*" } }))) return null;
    await send(config, upload, 0);
    return null;
  }
  if (!checkpoint) {
    // Gone (removed by hand, or lost): start over.
    job.logger.warn("ingest checkpoint missing; starting the upload's profile over", { uploadId: upload.id, fromByte });
    await send(config, upload);
    return null;
  }
  if (checkpoint.reached !== fromByte) {
    // Done already. If this was the segment that wrote the checkpoint, the next message may have been lost: sent again
    // (a copy of one in flight is harmless: only one of them can store the checkpoint after).
    if (checkpoint.reached > fromByte && checkpoint.from === fromByte) await send(config, upload, checkpoint.reached);
    return null;
  }
  const object = await bucket.get(upload.r2Key, { range: { offset: fromByte } });
  if (!object) throw gone();
  const reader = new BodyReader(object.body);
  const rowsBefore = checkpoint.csv?.rows.profiler?.rowCount ?? 0;
  const result = await profileCsvSegment(reader, job.parse, job.limits, {
    checkpoint: checkpoint.csv,
    bytes: config.INGEST_SEGMENT_BYTES,
    total: upload.length,
    progress: (bytesDone) => job.progress(bytesDone, rowsBefore),
  }).catch(async (error: unknown) => {
    await reader.cancel().catch(() => {});
    throw error;
  });
  if ("profiled" in result) {
    await job.progress(upload.length, result.profiled.rows.rowCount, true);
    return ingestedOf(result.profiled, upload.length, checkpoint.sha256);
  }
  const next: Checkpoint = { sha256: checkpoint.sha256, from: fromByte, reached: result.checkpoint.reached, csv: result.checkpoint };
  // Only over the checkpoint this segment started from: a copy of this message that got there first has sent the next one.
  if (!(await bucket.put(key, JSON.stringify(next), { onlyIf: { etagMatches: stored!.etag } }))) return null;
  await job.progress(next.reached, result.checkpoint.rows.profiler?.rowCount ?? 0, true);
  await job.touch();
  await send(config, upload, next.reached);
  return null;
}
