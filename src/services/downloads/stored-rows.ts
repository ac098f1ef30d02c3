// A stored dataset file read back as batches of rows, with the upload's own readers: CSV through its byte scanner, JSON and NDJSON through parsers.ts.
import { cellText } from "../datasets/csv-scanner.ts";
import { textDecoderFor } from "../datasets/encoding.ts";
import { JSON_DEPTH_CEILING, type ParseOptions, rowsOf } from "../datasets/parsers.ts";
import { openStoredCsv } from "../datasets/stored-csv.ts";
import type { Cell } from "../datasets/profile/types.ts";
import { coerceRow, coercersFor } from "../datasets/type-overrides.ts";

/** CSV records as the profiler saw them: the same scanner, delimiter, line break, header and BOM handling as ingest. */
async function* csvBatches(body: ReadableStream<Uint8Array>, parse: ParseOptions, width: number): AsyncGenerator<Cell[][]> {
  const { scanner, chunks } = await openStoredCsv(body, parse, width);
  let skipHeader = parse.header ?? false;
  const skip = parse.onError === "skip";
  let batch: Cell[][] = [];
  const onRecord = (bytes: Uint8Array, cells: Int32Array, count: number, row: number) => {
    if (skipHeader) {
      skipHeader = false;
      return;
    }
    if (count !== width) {
      if (skip) return; // left out at upload (onError=skip), as it is from the profile and the store
      // Ingest refused such a file; a stored one that disagrees was not written by this code.
      throw new Error(`stored CSV row ${row} has ${count} cells where the profile has ${width} columns`);
    }
    const record = new Array<Cell>(width);
    for (let i = 0; i < width; i++) record[i] = cellText(bytes, cells, i);
    batch.push(record);
  };
  for await (const chunk of chunks) {
    scanner.push(chunk, onRecord);
    if (batch.length > 0) {
      yield batch;
      batch = [];
    }
  }
  scanner.end(onRecord);
  if (batch.length > 0) yield batch;
}

/**
 * The rows of a stored file as arrays of cells in the order of `columns` (the profile's, which for
 * JSON is the order keys were first seen, as the parser builds it). CSV cells are text; JSON cells are
 * the values as parsed. Bounded memory: one chunk of input at a time.
 */
export async function storedRows(
  body: ReadableStream<Uint8Array>,
  parse: ParseOptions,
  columns: readonly string[],
): Promise<AsyncGenerator<Cell[][]>> {
  const rows = await parsedRows(body, parse, columns);
  const coercers = coercersFor(columns, parse.types);
  if (!coercers) return rows;
  // Overridden columns as their type, as the profile and the store read them.
  return (async function* () {
    for await (const batch of rows) yield batch.map((row) => coerceRow(row, coercers));
  })();
}

async function parsedRows(
  body: ReadableStream<Uint8Array>,
  parse: ParseOptions,
  columns: readonly string[],
): Promise<AsyncGenerator<Cell[][]>> {
  if (parse.format === "csv") return csvBatches(body, parse, columns.length);
  // Piped with a signal, so a reader that stops early (a client gone) also stops the R2 read.
  const stop = new AbortController();
  const text = textDecoderFor(parse.encoding, false);
  body.pipeTo(text.writable, { signal: stop.signal }).catch(() => {});
  const { rows } = await rowsOf(text.readable, parse, { maxDepth: JSON_DEPTH_CEILING });
  return (async function* () {
    try {
      yield* rows;
    } finally {
      stop.abort();
    }
  })();
}
