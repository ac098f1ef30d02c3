// A stored dataset file read back as batches of rows, with the upload's own readers: CSV through its byte scanner, JSON and NDJSON through parsers.ts.
import { BodyReader } from "../datasets/body-reader.ts";
import { CsvScanner, ESCAPED, unescapeCell } from "../datasets/csv-scanner.ts";
import { JSON_DEPTH_CEILING, type ParseOptions, rowsOf, sniffDelimiter } from "../datasets/parsers.ts";
import type { Cell } from "../datasets/profiler.ts";

/** As ingest reads a CSV: the line break is decided on the first 64 KiB, and a record over 1 MiB is refused. */
const HEAD_BYTES = 64 * 1024;
const MAX_RECORD_BYTES = 1024 * 1024;

const decoder = new TextDecoder();

/** Cell i of a scanned record as text (the file was checked to be UTF-8 on upload). */
function cellText(bytes: Uint8Array, cells: Int32Array, i: number): string {
  const start = cells[3 * i]!;
  const end = cells[3 * i + 1]!;
  if (cells[3 * i + 2] !== ESCAPED) return decoder.decode(bytes.subarray(start, end));
  const [unescaped, length] = unescapeCell(bytes, start, end, new Uint8Array(end - start));
  return decoder.decode(unescaped.subarray(0, length));
}

/** CSV records as the profiler saw them: the same scanner, delimiter, line break, header and BOM handling as ingest. */
async function* csvBatches(body: ReadableStream<Uint8Array>, parse: ParseOptions, width: number): AsyncGenerator<Cell[][]> {
  const reader = new BodyReader(body);
  try {
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
    const delimiter = parse.delimiter ?? sniffDelimiter(headText);
    const lineBreak = headText.includes("\n") || !headText.includes("\r") ? 10 : 13;
    const scanner = new CsvScanner(delimiter.charCodeAt(0), lineBreak, width + 1, MAX_RECORD_BYTES);
    let skipHeader = parse.header ?? false;
    let batch: Cell[][] = [];
    const onRecord = (bytes: Uint8Array, cells: Int32Array, count: number, row: number) => {
      if (skipHeader) {
        skipHeader = false;
        return;
      }
      // Ingest refused such a file; a stored one that disagrees was not written by this code.
      if (count !== width) throw new Error(`stored CSV row ${row} has ${count} cells where the profile has ${width} columns`);
      const record = new Array<Cell>(width);
      for (let i = 0; i < width; i++) record[i] = cellText(bytes, cells, i);
      batch.push(record);
    };
    const first = head[0];
    if (first && first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf) head[0] = first.subarray(3);
    const take = () => {
      const taken = batch;
      batch = [];
      return taken;
    };
    for (const chunk of head) scanner.push(chunk, onRecord);
    if (batch.length > 0) yield take();
    while (!done) {
      const chunk = await reader.read();
      if (!chunk) break;
      scanner.push(chunk, onRecord);
      if (batch.length > 0) yield take();
    }
    scanner.end(onRecord);
    if (batch.length > 0) yield take();
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * The rows of a stored file as arrays of cells in the order of `columns` (the profile's, which for
 * JSON is the order keys were first seen, as the parser builds it). CSV cells are text; JSON cells are
 * the values as parsed. Bounded memory: one chunk of input at a time.
 */
export async function storedRows(body: ReadableStream<Uint8Array>, parse: ParseOptions, columns: readonly string[]): Promise<AsyncGenerator<Cell[][]>> {
  if (parse.format === "csv") return csvBatches(body, parse, columns.length);
  // Piped with a signal, so a reader that stops early (a client gone) also stops the R2 read.
  const stop = new AbortController();
  const text = new TextDecoderStream();
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
