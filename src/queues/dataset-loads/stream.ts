// Streams a stored dataset file from R2 through the upload's parsers, typed for the store, a batch of rows at a time.
import { ESCAPED, unescapeCell } from "../../services/datasets/csv-scanner.ts";
import { textDecoderFor } from "../../services/datasets/encoding.ts";
import { openStoredCsv, resumeStoredCsv, type StoredCsv } from "../../services/datasets/stored-csv.ts";
import { JSON_DEPTH_CEILING, type ParseOptions, rowsOf } from "../../services/datasets/parsers.ts";
import { coerceRow, coercersFor } from "../../services/datasets/type-overrides.ts";
import { isBinaryFormat, openStoredTabular } from "../../services/datasets/formats/tabular.ts";
import { CsvColumn, cellText } from "./csv-values.ts";
import { LoadError, type SqlValue, type StoreColumn, toSqlValue } from "./values.ts";

export interface StoredFile {
  r2Key: string;
  parse: ParseOptions;
  columns: StoreColumn[];
}

/** A batch: `rows` rows' values one after another. Awaited before the file is read further, so memory holds one batch. */
export type BatchSink = (values: SqlValue[], rows: number) => Promise<void>;

/** Where a CSV segment stopped (a record's first byte) and how the file's records are read: the next segment starts there. */
export interface CsvResume {
  /** The file's byte offset of the next record. */
  fromByte: number;
  /** Records scanned before it (header and blank lines included): row numbers in errors go on from there. */
  fromRecord: number;
  delimiter: number;
  lineBreak: number;
}

/** A load in segments: at most about `bytes` of the file this time, from `from` (a later segment) or the start. */
export interface Segment {
  bytes: number;
  from?: CsvResume;
}

/** The smallest piece of a chunk pushed to the scanner when a segment's budget ends inside the chunk. */
const MIN_PIECE_BYTES = 64 * 1024;

/** Rows per batch (one RPC to the store, one transaction there). */
export const BATCH_ROWS = 5_000;
/** Text a batch may hold before it goes early (a file of long cells), well under an RPC's limits. */
const BATCH_CHARS = 4 * 1024 * 1024;

class Batch {
  values: SqlValue[] = [];
  rows = 0;
  chars = 0;

  add(row: SqlValue[]) {
    for (const value of row) {
      this.values.push(value);
      if (typeof value === "string") this.chars += value.length;
    }
    this.rows++;
  }

  get full() {
    return this.rows >= BATCH_ROWS || this.chars >= BATCH_CHARS;
  }

  async send(sink: BatchSink) {
    if (this.rows === 0) return;
    const { values, rows } = this;
    this.values = [];
    this.rows = 0;
    this.chars = 0;
    await sink(values, rows);
  }
}

const gone = () => new LoadError("The dataset's file is no longer stored.");

/**
 * Every row of the file to `sink` (with `segment`: those of one segment); throws LoadError (or the parsers' ApiError) for a
 * file that cannot be loaded. Returns where the next segment starts, or null when the file is done. Only a UTF-8 CSV goes in
 * segments (its scanner's offsets are the file's); other encodings, JSON, NDJSON, Parquet and Excel load whole.
 */
export async function streamRows(bucket: R2Bucket, file: StoredFile, sink: BatchSink, segment?: Segment): Promise<CsvResume | null> {
  if (isBinaryFormat(file.parse.format)) {
    await streamBinary(bucket, file, sink);
    return null;
  }
  if (file.parse.format === "csv") return streamCsv(bucket, file, sink, segment);
  const object = await bucket.get(file.r2Key);
  if (!object) throw gone();
  await streamJson(object.body, file, sink);
  return null;
}

/** The CSV from its start, or a later segment's records from its byte (a range read) with the first segment's reading. */
async function openCsv(bucket: R2Bucket, file: StoredFile, from: CsvResume | undefined): Promise<StoredCsv & { base: number }> {
  const width = file.columns.length;
  if (!from) {
    const object = await bucket.get(file.r2Key);
    if (!object) throw gone();
    const opened = await openStoredCsv(object.body, file.parse, width);
    return { ...opened, base: opened.skipped };
  }
  const object = await bucket.get(file.r2Key, { range: { offset: from.fromByte } });
  if (!object) throw gone();
  const reading = { delimiter: from.delimiter, lineBreak: from.lineBreak, rowsBefore: from.fromRecord };
  return { ...resumeStoredCsv(object.body, reading, width), base: from.fromByte };
}

/** CSV as the upload read it: the same scanner, line break and BOM handling; the header record (if any) skipped. */
async function streamCsv(bucket: R2Bucket, file: StoredFile, sink: BatchSink, segment: Segment | undefined): Promise<CsvResume | null> {
  const { columns } = file;
  const { scanner, chunks, encoding, base, delimiter, lineBreak } = await openCsv(bucket, file, segment?.from);
  // The header is the first segment's first record.
  let skipHeader = file.parse.header === true && !segment?.from;
  const skip = file.parse.onError === "skip";
  let unescaped: Uint8Array = new Uint8Array(256);
  const coercers = coercersFor(
    columns.map((column) => column.name),
    file.parse.types,
  );
  // An overridden column is read as text and coerced (as the profiler read it); the others straight from their bytes.
  const converters = columns.map((column, i) => {
    const coercer = coercers?.[i];
    if (!coercer) return new CsvColumn(column.name, column.type);
    return {
      value: (bytes: Uint8Array, start: number, end: number, row: number) =>
        toSqlValue(coercer.coerce(cellText(bytes, start, end)), column.type, row, column.name),
    };
  });
  const batch = new Batch();
  const onRecord = (bytes: Uint8Array, cells: Int32Array, count: number, row: number) => {
    if (skipHeader) {
      skipHeader = false;
      return;
    }
    if (count !== columns.length) {
      // The upload left such a row out (and reported it) under onError=skip: left out here too, so the store holds rowCount rows.
      if (skip) return;
      throw new LoadError(`Row ${row} has ${count} columns where the dataset has ${columns.length}.`);
    }
    // Straight into the batch (no array per row: the load's garbage was measured as much of its time).
    const { values } = batch;
    for (let i = 0; i < count; i++) {
      const start = cells[3 * i]!;
      const end = cells[3 * i + 1]!;
      let value: SqlValue;
      if (cells[3 * i + 2] === ESCAPED) {
        const [into, length] = unescapeCell(bytes, start, end, unescaped);
        unescaped = into;
        value = converters[i]!.value(into, 0, length, row);
      } else {
        value = converters[i]!.value(bytes, start, end, row);
      }
      values.push(value);
      if (typeof value === "string") batch.chars += value.length;
    }
    batch.rows++;
  };
  // Past this many bytes of complete records the segment stops (the bytes after them are read again by the next one).
  const budget = segment && encoding === "utf-8" ? segment.bytes : Number.POSITIVE_INFINITY;
  // Near the budget, pieces of what is left of it, but not tiny ones (each push joins a carried record again).
  const least = Math.min(MIN_PIECE_BYTES, Math.ceil(budget / 4));
  // A chunk (256 KB) at a time into the batch (in pieces when the budget ends inside it); a full batch goes to the store before more is read.
  for await (const chunk of chunks) {
    let at = 0;
    while (at < chunk.length) {
      // Bytes are left (the rest of this chunk), so a next segment has records to read.
      if (scanner.consumed >= budget) {
        await batch.send(sink);
        return { fromByte: base + scanner.consumed, fromRecord: scanner.records, delimiter, lineBreak };
      }
      const end = Math.min(chunk.length, at + Math.max(budget - scanner.consumed, least));
      scanner.push(at === 0 && end === chunk.length ? chunk : chunk.subarray(at, end), onRecord);
      at = end;
      if (batch.full) await batch.send(sink);
    }
  }
  scanner.end(onRecord);
  await batch.send(sink);
  return null;
}

/** JSON and NDJSON through the upload's parser: rows arrive as arrays in the order the profile's columns were first seen. */
async function streamJson(body: ReadableStream<Uint8Array>, file: StoredFile, sink: BatchSink) {
  const { columns } = file;
  const { rows } = await rowsOf(body.pipeThrough(textDecoderFor(file.parse.encoding, true)), file.parse, {
    maxDepth: JSON_DEPTH_CEILING,
  });
  const batch = new Batch();
  const coercers = coercersFor(
    columns.map((column) => column.name),
    file.parse.types,
  );
  let row = 0;
  for await (const parsed of rows) {
    for (const cells of parsed) {
      row++;
      if (coercers) coerceRow(cells, coercers);
      if (cells.length > columns.length) throw new LoadError(`Row ${row} has a key the dataset's profile does not have.`);
      const values: SqlValue[] = new Array(columns.length);
      for (let i = 0; i < columns.length; i++) values[i] = toSqlValue(cells[i], columns[i]!.type, row, columns[i]!.name);
      batch.add(values);
      if (batch.full) await batch.send(sink);
    }
  }
  await batch.send(sink);
}

/** Parquet and Excel read from R2 by range reads (see formats/tabular.ts), their typed cells converted as JSON values are. */
async function streamBinary(bucket: R2Bucket, file: StoredFile, sink: BatchSink) {
  const { columns } = file;
  const opened = await openStoredTabular(bucket, file.r2Key, file.parse);
  if (!opened) throw new LoadError("The dataset's file is no longer stored.");
  const batch = new Batch();
  // Type overrides apply to Parquet and Excel rows as to JSON's: the profiler read them so.
  const coercers = coercersFor(
    columns.map((column) => column.name),
    file.parse.types,
  );
  let row = 0;
  for await (const parsed of opened.batches()) {
    for (const cells of parsed) {
      row++;
      if (coercers) coerceRow(cells, coercers);
      if (cells.length > columns.length) throw new LoadError(`Row ${row} has more columns than the dataset's profile.`);
      const values: SqlValue[] = new Array(columns.length);
      for (let i = 0; i < columns.length; i++) values[i] = toSqlValue(cells[i], columns[i]!.type, row, columns[i]!.name);
      batch.add(values);
      if (batch.full) await batch.send(sink);
    }
  }
  await batch.send(sink);
}
