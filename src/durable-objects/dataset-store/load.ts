// DatasetStore.load: streams the dataset's file from R2 through the upload's parsers into the `dataset` table, in batched transactions.
import { ApiError } from "../../lib/problem.ts";
import { BodyReader } from "../../services/datasets/body-reader.ts";
import { CsvScanner, ESCAPED, unescapeCell } from "../../services/datasets/csv-scanner.ts";
import { HEAD_BYTES, lineBreakOf, MAX_RECORD_BYTES } from "../../services/datasets/ingest.ts";
import { type ParseOptions, rowsOf } from "../../services/datasets/parsers.ts";
import { CsvColumn } from "./csv-values.ts";
import { currentLoadId, readMeta, type StoreMeta, writeMeta } from "./meta.ts";
import { LoadError, quoteIdentifier, type SqlValue, sqlType, type StoreColumn, toSqlValue } from "./values.ts";

/** What the load queue asks a store to hold: one dataset file, read as the upload read it. */
export interface LoadJob {
  datasetId: string;
  sha256: string;
  r2Key: string;
  parse: ParseOptions;
  /** The profile's columns, in order: the table's columns and their types. */
  columns: StoreColumn[];
  /** The rows the upload counted: a load that finds another number fails. */
  rowCount: number;
}

export type LoadResult = { status: "ready"; rows: number; loadedAt: string; reused: boolean } | { status: "failed"; error: string };

/** SQLite in a Durable Object allows 100 columns a table (and 2 MB a value, which bounds a batch below). */
export const MAX_STORE_COLUMNS = 100;
/** A Durable Object's SQLite takes at most 100 bound values a statement. */
const MAX_BOUND_VALUES = 100;
/** Rows per transaction, and the text they may hold before one is written early (bounding what waits in memory). */
const BATCH_ROWS = 10_000;
const BATCH_CHARS = 4 * 1024 * 1024;

/** The load running in this object, if any: a second delivery meanwhile waits for it instead of starting over. */
const running = new WeakMap<DurableObjectState, Promise<LoadResult>>();

/** Another load took over the table (this one was left behind by a restart): stop writing. */
class Superseded extends Error {}

const sameColumns = (a: StoreColumn[], b: StoreColumn[]) => a.length === b.length && a.every((column, i) => column.name === b[i]!.name && column.type === b[i]!.type);

export function loadStore(ctx: DurableObjectState, env: Cloudflare.Env, job: LoadJob): Promise<LoadResult> {
  const current = running.get(ctx);
  if (current) return current;
  const load = runLoad(ctx, env, job).finally(() => running.delete(ctx));
  running.set(ctx, load);
  return load;
}

/** The store's metadata (status, rows, loadedAt, error, columns…), for the consumer and the query path. */
export function storeMeta(ctx: DurableObjectState): Omit<StoreMeta, "loadId"> {
  const { loadId: _, ...meta } = readMeta(ctx.storage.sql);
  return meta;
}

/** Everything the object holds goes: the table, the metadata and SQLite's own bookkeeping. */
export async function destroyStore(ctx: DurableObjectState): Promise<void> {
  await ctx.storage.deleteAll();
}

function checkColumns(columns: StoreColumn[]) {
  if (columns.length === 0) throw new LoadError("The dataset has no columns.");
  if (columns.length > MAX_STORE_COLUMNS) throw new LoadError(`The dataset has ${columns.length} columns; a store holds at most ${MAX_STORE_COLUMNS}.`);
  // SQLite compares column names without regard to ASCII case: "Price" and "price" would be one column.
  const seen = new Map<string, string>();
  for (const { name } of columns) {
    const folded = name.replace(/[A-Z]/g, (char) => char.toLowerCase());
    const other = seen.get(folded);
    if (other !== undefined) throw new LoadError(`The columns ${JSON.stringify(other)} and ${JSON.stringify(name)} are one name to SQLite, which ignores case.`);
    seen.set(folded, name);
  }
}

async function runLoad(ctx: DurableObjectState, env: Cloudflare.Env, job: LoadJob): Promise<LoadResult> {
  const { sql } = ctx.storage;
  const meta = readMeta(sql);
  if (meta.status === "ready" && meta.sha256 === job.sha256) {
    // The same bytes again (a redelivery, or another dataset row with this content): nothing to do.
    if (sameColumns(meta.columns, job.columns)) return { status: "ready", rows: meta.rows, loadedAt: meta.loadedAt!, reused: true };
    return { status: "failed", error: "These bytes are already loaded with other columns (uploaded in another format); upload them in that format to query them." };
  }
  const loadId = crypto.randomUUID();
  try {
    checkColumns(job.columns);
    // A fresh table whatever a load cut short left behind: the first step of every load.
    ctx.storage.transactionSync(() => {
      writeMeta(sql, { status: "loading", loadId, sha256: job.sha256, datasetId: job.datasetId, columns: JSON.stringify(job.columns), rows: "0", loadedAt: null, error: null });
      sql.exec(`DROP TABLE IF EXISTS dataset`);
      sql.exec(`CREATE TABLE dataset (${job.columns.map((column) => `${quoteIdentifier(column.name)} ${sqlType(column.type)}`).join(", ")})`);
    });
    const object = await env.DATASETS.get(job.r2Key);
    if (!object) throw new LoadError("The dataset's file is no longer stored.");
    const batches = new Batches(ctx, job.columns, loadId);
    if (job.parse.format === "csv") await streamCsv(object.body, job, batches);
    else await streamJson(object.body, job, batches);
    batches.flush();
    if (batches.rows !== job.rowCount) throw new LoadError(`The load read ${batches.rows} rows where the upload counted ${job.rowCount}.`);
    const loadedAt = new Date().toISOString();
    ctx.storage.transactionSync(() => {
      if (currentLoadId(sql) !== loadId) throw new Superseded();
      writeMeta(sql, { status: "ready", rows: String(batches.rows), loadedAt });
    });
    return { status: "ready", rows: batches.rows, loadedAt, reused: false };
  } catch (error) {
    if (error instanceof Superseded) throw new Error("The load was superseded by another one.");
    const message = error instanceof ApiError ? error.detail : error instanceof Error ? error.message : String(error);
    // Rows of a failed load are dropped: the table is rebuilt by the next attempt anyway.
    ctx.storage.transactionSync(() => {
      if (currentLoadId(sql) !== loadId) return;
      writeMeta(sql, { status: "failed", error: message, rows: "0" });
      sql.exec(`DROP TABLE IF EXISTS dataset`);
    });
    // Bad bytes or a missing file fail the same way every time; anything else (R2, storage) is worth another delivery.
    if (error instanceof LoadError || error instanceof ApiError) return { status: "failed", error: message };
    throw error;
  }
}

/**
 * Rows written a batch per transaction (each checking the load is still this one), as multi-row INSERTs
 * of as many rows as 100 bound values allow: measured fastest, ahead of one JSON array unpacked by json_each.
 */
class Batches {
  rows = 0;
  private pending: SqlValue[] = [];
  private pendingRows = 0;
  private chars = 0;
  private readonly width: number;
  private readonly perStatement: number;
  private readonly insert: string;

  constructor(
    private readonly ctx: DurableObjectState,
    columns: StoreColumn[],
    private readonly loadId: string,
  ) {
    this.width = columns.length;
    this.perStatement = Math.max(1, Math.floor(MAX_BOUND_VALUES / this.width));
    this.insert = this.statement(this.perStatement);
  }

  private statement(rows: number) {
    const tuple = `(${new Array(this.width).fill("?").join(", ")})`;
    return `INSERT INTO dataset VALUES ${new Array(rows).fill(tuple).join(", ")}`;
  }

  add(values: SqlValue[]) {
    for (const value of values) {
      this.pending.push(value);
      if (typeof value === "string") this.chars += value.length;
    }
    if (++this.pendingRows >= BATCH_ROWS || this.chars > BATCH_CHARS) this.flush();
  }

  flush() {
    if (this.pendingRows === 0) return;
    const { sql } = this.ctx.storage;
    const { pending, width, perStatement } = this;
    this.ctx.storage.transactionSync(() => {
      if (currentLoadId(sql) !== this.loadId) throw new Superseded();
      try {
        const step = perStatement * width;
        let at = 0;
        for (; at + step <= pending.length; at += step) sql.exec(this.insert, ...pending.slice(at, at + step));
        if (at < pending.length) sql.exec(this.statement((pending.length - at) / width), ...pending.slice(at));
      } catch (error) {
        // A value SQLite refuses (a row past 2 MB, the store full) is refused again next time.
        throw new LoadError(`The store refused rows ${this.rows + 1}–${this.rows + this.pendingRows}: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    this.rows += this.pendingRows;
    this.pending = [];
    this.pendingRows = 0;
    this.chars = 0;
  }
}

const decoder = new TextDecoder();

/** CSV as the upload read it: the same scanner, line break and BOM handling; the header record (if any) skipped. */
async function streamCsv(body: ReadableStream<Uint8Array>, job: LoadJob, batches: Batches) {
  const reader = new BodyReader(body);
  const { columns } = job;
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let done = false;
  while (headBytes < HEAD_BYTES) {
    const chunk = await reader.read();
    if (!chunk) {
      done = true;
      break;
    }
    head.push(chunk);
    headBytes += chunk.length;
  }
  const headText = head.map((chunk, i) => decoder.decode(chunk, { stream: i < head.length - 1 })).join("");
  const delimiter = (job.parse.delimiter ?? ",").charCodeAt(0);
  const scanner = new CsvScanner(delimiter, lineBreakOf(headText), columns.length + 1, MAX_RECORD_BYTES);
  let skipHeader = job.parse.header === true;
  let unescaped: Uint8Array = new Uint8Array(256);
  const converters = columns.map((column) => new CsvColumn(column.name, column.type));
  const onRecord = (bytes: Uint8Array, cells: Int32Array, count: number, row: number) => {
    if (skipHeader) {
      skipHeader = false;
      return;
    }
    if (count !== columns.length) throw new LoadError(`Row ${row} has ${count} columns where the dataset has ${columns.length}.`);
    const values: SqlValue[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const start = cells[3 * i]!;
      const end = cells[3 * i + 1]!;
      if (cells[3 * i + 2] === ESCAPED) {
        const [into, length] = unescapeCell(bytes, start, end, unescaped);
        unescaped = into;
        values[i] = converters[i]!.value(into, 0, length, row);
      } else {
        values[i] = converters[i]!.value(bytes, start, end, row);
      }
    }
    batches.add(values);
  };
  const first = head[0];
  if (first && first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf) head[0] = first.subarray(3);
  for (const chunk of head) scanner.push(chunk, onRecord);
  while (!done) {
    const chunk = await reader.read();
    if (!chunk) break;
    scanner.push(chunk, onRecord);
  }
  scanner.end(onRecord);
}

/** JSON and NDJSON through the upload's parser: rows arrive as arrays in the order the profile's columns were first seen. */
async function streamJson(body: ReadableStream<Uint8Array>, job: LoadJob, batches: Batches) {
  const { columns } = job;
  const { rows } = await rowsOf(body.pipeThrough(new TextDecoderStream("utf-8", { fatal: true })), job.parse);
  let row = 0;
  for await (const batch of rows) {
    for (const cells of batch) {
      row++;
      if (cells.length > columns.length) throw new LoadError(`Row ${row} has a key the dataset's profile does not have.`);
      const values: SqlValue[] = new Array(columns.length);
      for (let i = 0; i < columns.length; i++) values[i] = toSqlValue(cells[i], columns[i]!.type, row, columns[i]!.name);
      batches.add(values);
    }
  }
}
