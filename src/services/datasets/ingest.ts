// The upload pipeline: one pass over the body, streaming it to R2, hashing it and profiling its rows at once.
import { ApiError } from "../../lib/problem.ts";
import { BodyReader } from "./body-reader.ts";
import { type ChunkReader, utf8Reader } from "./encoding.ts";
import { CsvScanner } from "./csv-scanner.ts";
import { CsvRows, type CsvRowsSnapshot, SAMPLE_ROWS, tooManyColumns, tooManyRows } from "./csv-rows.ts";
import { Profiler } from "./profile/profiler.ts";
import { type Cell, NotUtf8Error, type Profile } from "./profile/types.ts";
import { headerOf } from "./csv-header.ts";
import { readCsvHead } from "./csv-head.ts";
import { type ParseOptions, rowsOf } from "./parsers.ts";
import { RejectLog, type RejectedRow } from "./rejects.ts";
import { coerceRow, coercersFor } from "./type-overrides.ts";
import { type BinaryFormat, checkMagic, isBinaryFormat, openStoredTabular } from "./formats/tabular.ts";

export interface Limits {
  maxBytes: number;
  maxRows: number;
  maxColumns: number;
  /** JSON and NDJSON: how deep a row may nest (see parsers.ts). */
  maxDepth: number;
  /** xlsx: how many bytes its parts may inflate to (a zip bomb's bound); absent where no workbook can come. */
  maxInflatedBytes?: number;
}

export interface Ingested {
  sizeBytes: number;
  sha256: string;
  columns: string[];
  rowCount: number;
  profile: Profile;
  sample: Record<string, Cell>[];
  parse: ParseOptions;
  /** Under onError=skip: how many rows were left out, and the first MAX_LISTED of them. */
  rejectedCount: number;
  rejects: RejectedRow[];
}

/** R2 multipart parts must be at least 5 MiB (but the last): memory holds one part at a time. */
const PART_BYTES = 5 * 1024 * 1024;
/** One record longer than this means an unclosed quote swallowing the file: refuse instead of buffering it. */
export const MAX_RECORD_BYTES = 1024 * 1024;

const toHex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, "0")).join("");

/** Every byte of the upload passes here once, as uploaded: counted, hashed, and stored in R2 parts. */
class Storage {
  sizeBytes = 0;
  private readonly digest = new crypto.DigestStream("SHA-256");
  private readonly hasher = this.digest.getWriter();
  private readonly parts: R2UploadedPart[] = [];
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly upload: R2MultipartUpload,
    private readonly maxBytes: number,
  ) {}

  async take(chunk: Uint8Array) {
    this.sizeBytes += chunk.length;
    if (this.sizeBytes > this.maxBytes) {
      throw new ApiError(413, { code: "UPLOAD_TOO_LARGE", detail: `The file is larger than the limit of ${this.maxBytes} bytes.` });
    }
    await this.hasher.write(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= PART_BYTES) await this.flushPart(PART_BYTES);
  }

  /** R2 wants every part but the last of one size: cut exactly PART_BYTES (or, at the end, what is left). */
  private async flushPart(size = this.pendingBytes) {
    if (size === 0) return;
    const part = new Uint8Array(size);
    let offset = 0;
    while (offset < size) {
      const chunk = this.pending[0]!;
      const take = Math.min(chunk.length, size - offset);
      part.set(take === chunk.length ? chunk : chunk.subarray(0, take), offset);
      offset += take;
      if (take === chunk.length) this.pending.shift();
      else this.pending[0] = chunk.subarray(take);
    }
    this.pendingBytes -= size;
    this.parts.push(await this.upload.uploadPart(this.parts.length + 1, part));
  }

  /** Stores the last part and completes the object; returns the file's SHA-256. */
  async finish(): Promise<string> {
    await this.flushPart();
    await this.hasher.close();
    const sha256 = toHex(await this.digest.digest);
    await this.upload.complete(this.parts);
    return sha256;
  }
}

/** A NUL is not text in any encoding read here: checked on the decoded bytes (UTF-16 holds NUL bytes). */
function refuseBinary(reader: ChunkReader): ChunkReader {
  return {
    read: async () => {
      const chunk = await reader.read();
      if (chunk?.includes(0))
        throw new ApiError(422, { code: "BINARY_FILE", detail: "The file holds binary data (a NUL byte); upload CSV or JSON text." });
      return chunk;
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

interface Rows {
  columns: string[];
  rowCount: number;
  profile: Profile;
  sample: Cell[][];
  parse: ParseOptions;
  /** See TabularFile.variant. */
  variant?: string;
}

/** Rows from the CSV's records as CsvRows left them at the end of the file. */
function rowsOfCsv(csv: CsvRows, options: ParseOptions, delimiter: string, header: boolean): Rows {
  const { profiler } = csv;
  if (!profiler) throw new ApiError(422, { code: "EMPTY_FILE", detail: "The file is empty." });
  const parse: ParseOptions = {
    format: "csv",
    delimiter,
    header,
    ...(options.onError === "skip" ? { onError: "skip" as const } : {}),
    ...(options.types?.length ? { types: options.types } : {}),
  };
  return { columns: csv.columns, rowCount: profiler.rowCount, profile: profiler.result(), sample: csv.sample, parse };
}

/**
 * CSV straight from the bytes: the scanner finds each record's cells and the profiler reads them in
 * place, so no text is made of a cell but for the header, the sample and values not seen before.
 */
async function profileCsv(reader: ChunkReader, options: ParseOptions, limits: Limits, rejects: RejectLog): Promise<Rows> {
  const head = await readCsvHead(reader, options.delimiter);
  const { delimiter, done } = head;
  const scanner = new CsvScanner(delimiter.charCodeAt(0), head.lineBreak, limits.maxColumns + 1, MAX_RECORD_BYTES);
  const header = options.header ?? headerOf(head.text, delimiter, done);
  const csv = new CsvRows(options, limits, header, rejects);
  for (const chunk of head.chunks) scanner.push(chunk, csv.onRecord);
  while (!done) {
    const chunk = await reader.read();
    if (!chunk) break;
    scanner.push(chunk, csv.onRecord);
  }
  scanner.end(csv.onRecord);
  return rowsOfCsv(csv, options, delimiter, header);
}

/** JSON and NDJSON: decoded as a stream and parsed into rows of values (see parsers.ts). */
async function profileJson(reader: ChunkReader, options: ParseOptions, limits: Limits, rejects: RejectLog): Promise<Rows> {
  const bytes = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await reader.read();
      if (!chunk) return controller.close();
      controller.enqueue(chunk);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  const {
    columns,
    rows,
    options: parse,
  } = await rowsOf(bytes.pipeThrough(new TextDecoderStream("utf-8", { fatal: true })), options, limits, rejects.add);
  const profiler = new Profiler(columns, options.types);
  const sample: Cell[][] = [];
  for await (const batch of rows) {
    if (profiler.rowCount + batch.length > limits.maxRows) throw tooManyRows(limits.maxRows);
    if (columns.length > limits.maxColumns) throw tooManyColumns(`more than ${limits.maxColumns}`, limits.maxColumns);
    for (const row of batch) profiler.add(row);
    for (const row of batch.slice(0, SAMPLE_ROWS - sample.length)) sample.push(row);
  }
  return { columns, rowCount: profiler.rowCount, profile: profiler.result(), sample, parse };
}

/** What profiling the file's bytes found: its rows, how they were decoded, and what was left out. */
export interface Profiled {
  rows: Rows;
  encoding: Awaited<ReturnType<typeof utf8Reader>>["encoding"];
  rejects: RejectLog;
}

const notUtf8 = () =>
  // Every other encoding reaches the parsers decoded already: this is a UTF-8 file with bytes that are not.
  new ApiError(422, {
    code: "NOT_UTF8",
    detail: "The file is not UTF-8 text; name its encoding with ?encoding= (for example windows-1252).",
  });

/**
 * Decodes the file's bytes as `reader` gives them (declared encoding, else a BOM, else UTF-8), refuses binary, and
 * profiles every row: the one reading of a file, for a request body (ingest below) and for an object already in R2
 * (a resumable upload's job, src/queues/dataset-ingest).
 */
export async function profileBytes(reader: ChunkReader, parse: ParseOptions, limits: Limits): Promise<Profiled> {
  try {
    const { encoding, reader: decoded } = await utf8Reader(reader, parse.encoding);
    const rejects = new RejectLog();
    const rows = await (parse.format === "csv" ? profileCsv : profileJson)(refuseBinary(decoded), parse, limits, rejects);
    return { rows, encoding, rejects };
  } catch (error) {
    throw decodingError(error);
  }
}

/** A failure to decode is the file's fault (NOT_UTF8); anything else as it was. */
const decodingError = (error: unknown) =>
  error instanceof NotUtf8Error || (error instanceof TypeError && /decode|utf-?8|encoding/i.test(error.message)) ? notUtf8() : error;

/** Where a CSV profiled in segments stands between two of them (JSON, kept in R2 by the ingest job). */
export interface CsvCheckpoint {
  /** The file's byte the next segment starts from: the start of a record. */
  reached: number;
  /** What the first segment read of the file's head, which the others cannot see. */
  delimiter: string;
  lineBreak: number;
  header: boolean;
  /** Records (blank lines included) before `reached`: the next scan's row numbers go on from there. */
  records: number;
  rows: CsvRowsSnapshot;
}

export interface CsvSegment {
  /** Null for the first segment, which reads the head; then what the last one left. */
  checkpoint: CsvCheckpoint | null;
  /** About how many bytes a segment reads: it stops at the first record boundary past this many. */
  bytes: number;
  /** The file's length. */
  total: number;
  /** After each chunk: the file's bytes whose records are read (never more than the segment's end, for progress that only rises). */
  progress?: (bytesDone: number) => Promise<void>;
}

/**
 * One segment of a UTF-8 CSV: `reader` gives the file's bytes from `checkpoint.reached` (from 0 for the first). Either the
 * file ends in it (its rows, as profileBytes would give them for the whole file), or it stops at a record boundary about
 * `segment.bytes` on and gives the checkpoint to go on from.
 */
export async function profileCsvSegment(
  reader: ChunkReader,
  parse: ParseOptions,
  limits: Limits,
  segment: CsvSegment,
): Promise<{ profiled: Profiled } | { checkpoint: CsvCheckpoint }> {
  try {
    const bytes = refuseBinary(reader);
    const { checkpoint } = segment;
    let chunks: Uint8Array[] = [];
    let from: number;
    let csv: CsvRows;
    let scanner: CsvScanner;
    let state: Pick<CsvCheckpoint, "delimiter" | "lineBreak" | "header">;
    if (checkpoint) {
      ({ reached: from, ...state } = checkpoint);
      csv = CsvRows.restored(checkpoint.rows, parse, limits, state.header);
      scanner = new CsvScanner(state.delimiter.charCodeAt(0), state.lineBreak, limits.maxColumns + 1, MAX_RECORD_BYTES, checkpoint.records);
    } else {
      const head = await readCsvHead(bytes, parse.delimiter);
      state = {
        delimiter: head.delimiter,
        lineBreak: head.lineBreak,
        header: parse.header ?? headerOf(head.text, head.delimiter, head.done),
      };
      ({ chunks } = head);
      from = head.bom;
      csv = new CsvRows(parse, limits, state.header, new RejectLog());
      scanner = new CsvScanner(state.delimiter.charCodeAt(0), state.lineBreak, limits.maxColumns + 1, MAX_RECORD_BYTES);
    }
    for (;;) {
      const chunk = chunks.shift() ?? (await bytes.read());
      if (!chunk) break;
      scanner.push(chunk, csv.onRecord);
      const reached = from + scanner.consumed;
      await segment.progress?.(reached);
      if (scanner.consumed >= segment.bytes && reached < segment.total) {
        await bytes.cancel().catch(() => {});
        return { checkpoint: { reached, ...state, records: scanner.records, rows: csv.snapshot() } };
      }
    }
    scanner.end(csv.onRecord);
    const rows = rowsOfCsv(csv, parse, state.delimiter, state.header);
    return { profiled: { rows, encoding: "utf-8", rejects: csv.rejects } };
  } catch (error) {
    throw decodingError(error);
  }
}

/** The default bound on what a workbook may inflate to (MAX_XLSX_INFLATED_BYTES). */
export const DEFAULT_MAX_INFLATED_BYTES = 512 * 1024 * 1024;

/**
 * A stored Parquet or Excel file profiled from R2 by range reads (the upload stores it first: both formats need random access).
 * Also what a job that finds such a file already in R2 runs.
 */
export async function profileStored(bucket: R2Bucket, key: string, options: ParseOptions, limits: Limits): Promise<Rows> {
  const file = await openStoredTabular(bucket, key, options, {
    maxRows: limits.maxRows,
    maxColumns: limits.maxColumns,
    maxInflatedBytes: limits.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES,
  });
  if (!file) throw new Error(`the stored file ${key} is gone`);
  let profiler: Profiler | undefined;
  const sample: Cell[][] = [];
  for await (const batch of file.batches()) {
    profiler ??= new Profiler(file.columns, options.types); // (Excel: the header is read with the first rows; the names may grow)
    for (const row of batch) profiler.add(row);
    for (const row of batch.slice(0, SAMPLE_ROWS - sample.length)) sample.push(row);
  }
  profiler ??= new Profiler(file.columns, options.types);
  const parse = {
    ...file.parse,
    ...(options.onError === "skip" ? { onError: "skip" as const } : {}),
    ...(options.types?.length ? { types: options.types } : {}),
  };
  return { columns: file.columns, rowCount: profiler.rowCount, profile: profiler.result(), sample, parse, variant: file.variant };
}

/**
 * A dataset is its bytes, and for a workbook the sheet read: a sheet other than the first gets the hash of the file's hash and
 * its name, so it is a dataset (and a store) of its own rather than the same bytes again.
 */
async function identity(sha256: string, variant: string | undefined) {
  if (variant === undefined) return sha256;
  return toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${sha256}\nsheet:${variant}`)));
}

/** Bytes the magic check reads before the rest is stored. */
const MAGIC_BYTES = 4;

/** A stored Parquet or Excel file's figures, as a text file's: no row is rejected (typed cells cannot be ragged), none decoded. */
function binaryIngested(rows: Rows, sizeBytes: number, sha256: string): Ingested {
  const ingested = ingestedOf({ rows, encoding: "utf-8", rejects: new RejectLog() }, sizeBytes, sha256);
  return { ...ingested, parse: rows.parse }; // no encoding in its parse options: the file is not text
}

/** A Parquet or Excel file already in R2 (a resumable upload's object), hashed by its reader: the dataset version's figures. */
export async function ingestStoredBinary(
  bucket: R2Bucket,
  key: string,
  parse: ParseOptions,
  limits: Limits,
  sizeBytes: number,
  sha256: string,
) {
  if (sizeBytes === 0) throw new ApiError(422, { code: "EMPTY_FILE", detail: "The file is empty." });
  const head = await bucket.get(key, { range: { offset: 0, length: MAGIC_BYTES } });
  if (!head) throw new ApiError(422, { detail: "The uploaded file is no longer stored." });
  checkMagic(parse.format as BinaryFormat, new Uint8Array(await head.arrayBuffer()));
  const rows = await profileStored(bucket, key, parse, limits);
  return binaryIngested(rows, sizeBytes, await identity(sha256, rows.variant));
}

/** A binary upload: every byte to R2 (counted, hashed, its first bytes checked), then profiled from there; on failure nothing stays. */
async function ingestBinary(
  body: ReadableStream<Uint8Array>,
  parse: ParseOptions & { format: BinaryFormat },
  bucket: R2Bucket,
  key: string,
  contentType: string,
  limits: Limits,
): Promise<Ingested> {
  const upload = await bucket.createMultipartUpload(key, { httpMetadata: { contentType } });
  const storage = new Storage(upload, limits.maxBytes);
  const reader = new BodyReader(body);
  let stored = false;
  try {
    const head = new Uint8Array(MAGIC_BYTES);
    for (;;) {
      const chunk = await reader.read();
      if (!chunk) break;
      if (storage.sizeBytes < MAGIC_BYTES) {
        head.set(chunk.subarray(0, MAGIC_BYTES - storage.sizeBytes), storage.sizeBytes);
        if (storage.sizeBytes + chunk.length >= MAGIC_BYTES) checkMagic(parse.format, head);
      }
      await storage.take(chunk);
    }
    if (storage.sizeBytes === 0) throw new ApiError(422, { code: "EMPTY_FILE", detail: "The file is empty." });
    checkMagic(parse.format, head);
    const sha256 = await storage.finish();
    stored = true;
    const rows = await profileStored(bucket, key, parse, limits);
    return binaryIngested(rows, storage.sizeBytes, await identity(sha256, rows.variant));
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (stored) await bucket.delete(key).catch(() => {});
    else await upload.abort().catch(() => {});
    throw error;
  }
}

/** The dataset version's figures from a profiled file of `sizeBytes` bytes; an empty file (or no accepted row) is a 422. */
export function ingestedOf({ rows, encoding, rejects }: Profiled, sizeBytes: number, sha256: string): Ingested {
  if (sizeBytes === 0) throw new ApiError(422, { code: "EMPTY_FILE", detail: "The file is empty." });
  if (rows.rowCount === 0) {
    const left = rejects.count > 0 ? ` (${rejects.count} were rejected)` : "";
    throw new ApiError(422, { code: "EMPTY_FILE", detail: `The file has no data rows${left}.` });
  }
  const { columns } = rows;
  // The sample shows values as the readers give them: overridden columns read as their type (fresh readers: the profile counted the unfit).
  const coercers = coercersFor(columns, rows.parse.types);
  const sample = coercers ? rows.sample.map((row) => coerceRow([...row], coercers)) : rows.sample;
  return {
    sizeBytes,
    sha256,
    columns,
    rowCount: rows.rowCount,
    profile: rows.profile,
    sample: sample.map((row) => Object.fromEntries(columns.map((name, i) => [name, row[i] ?? null]))),
    parse: { ...rows.parse, encoding },
    rejectedCount: rejects.count,
    rejects: rejects.listed,
  };
}

/**
 * Streams `body` into R2 at `key` while hashing and profiling it. On any failure (a limit, bad
 * data, a dropped connection) the multipart upload is aborted: no object is left behind.
 */
export async function ingest(
  body: ReadableStream<Uint8Array>,
  parse: ParseOptions,
  bucket: R2Bucket,
  key: string,
  contentType: string,
  limits: Limits,
): Promise<Ingested> {
  if (isBinaryFormat(parse.format)) return ingestBinary(body, { ...parse, format: parse.format }, bucket, key, contentType, limits);
  const upload = await bucket.createMultipartUpload(key, { httpMetadata: { contentType } });
  const storage = new Storage(upload, limits.maxBytes);
  const reader = new BodyReader(body);
  // Stored as uploaded; read (decoded to UTF-8 when it is not) by the profiler.
  const stored: ChunkReader = {
    read: async () => {
      const chunk = await reader.read();
      if (chunk) await storage.take(chunk);
      return chunk;
    },
    cancel: (reason) => reader.cancel(reason),
  };
  try {
    const profiled = await profileBytes(stored, parse, limits);
    if (storage.sizeBytes === 0 || profiled.rows.rowCount === 0) return ingestedOf(profiled, storage.sizeBytes, "");
    const sha256 = await storage.finish();
    return ingestedOf(profiled, storage.sizeBytes, sha256);
  } catch (error) {
    await reader.cancel().catch(() => {});
    await upload.abort().catch(() => {});
    throw error;
  }
}

/**
 * A stored file profiled again under other parse options (new type overrides): the same bytes, read from R2 as ingest read
 * them, so the new version's profile, sample and reject report are what an upload under those options would have made.
 * Null when the object is gone.
 */
export async function reprofile(
  bucket: R2Bucket,
  file: { r2Key: string; sizeBytes: number; sha256: string },
  parse: ParseOptions,
  limits: Limits,
): Promise<Ingested | null> {
  if (isBinaryFormat(parse.format)) {
    if (!(await bucket.head(file.r2Key))) return null;
    return binaryIngested(await profileStored(bucket, file.r2Key, parse, limits), file.sizeBytes, file.sha256);
  }
  const object = await bucket.get(file.r2Key);
  if (!object) return null;
  const reader = new BodyReader(object.body);
  try {
    return ingestedOf(await profileBytes(reader, parse, limits), file.sizeBytes, file.sha256);
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
}
