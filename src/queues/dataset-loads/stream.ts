// Streams a stored dataset file from R2 through the upload's parsers, typed for the store, a batch of rows at a time.
import { ESCAPED, unescapeCell } from "../../services/datasets/csv-scanner.ts";
import { textDecoderFor } from "../../services/datasets/encoding.ts";
import { openStoredCsv } from "../../services/datasets/stored-csv.ts";
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

/** Every row of the file to `sink`; throws LoadError (or the parsers' ApiError) for a file that cannot be loaded. */
export async function streamRows(bucket: R2Bucket, file: StoredFile, sink: BatchSink): Promise<void> {
  if (isBinaryFormat(file.parse.format)) return streamBinary(bucket, file, sink);
  const object = await bucket.get(file.r2Key);
  if (!object) throw new LoadError("The dataset's file is no longer stored.");
  if (file.parse.format === "csv") await streamCsv(object.body, file, sink);
  else await streamJson(object.body, file, sink);
}

/** CSV as the upload read it: the same scanner, line break and BOM handling; the header record (if any) skipped. */
async function streamCsv(body: ReadableStream<Uint8Array>, file: StoredFile, sink: BatchSink) {
  const { columns } = file;
  const { scanner, chunks } = await openStoredCsv(body, file.parse, columns.length);
  let skipHeader = file.parse.header === true;
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
  // A chunk (256 KB) at a time into the batch; a full batch goes to the store before the next chunk is read.
  for await (const chunk of chunks) {
    scanner.push(chunk, onRecord);
    if (batch.full) await batch.send(sink);
  }
  scanner.end(onRecord);
  await batch.send(sink);
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
