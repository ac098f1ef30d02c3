// A stored CSV read back exactly as ingest read it: decoded to UTF-8 from its encoding, delimiter and line break from the
// first HEAD_BYTES, the BOM dropped, the same scanner and record limit. Used by the store's load and by downloads, which then convert each record their way.
// A UTF-8 file can also be read from part-way through (a later segment of the store's load), with what its first read found.
import { BodyReader } from "./body-reader.ts";
import { CsvScanner } from "./csv-scanner.ts";
import { type ChunkReader, type Encoding, utf8Reader } from "./encoding.ts";
import { readCsvHead } from "./csv-head.ts";
import { MAX_RECORD_BYTES } from "./ingest.ts";
import type { ParseOptions } from "./parsers.ts";

export interface StoredCsv {
  /** Push each chunk, then `end()`; records go to the callback given there, the header record (if any) first. */
  scanner: CsvScanner;
  /** The file's bytes as UTF-8, 256 KB at a time, the BOM gone; finishing or leaving the loop early releases the R2 read. */
  chunks: AsyncGenerator<Uint8Array>;
  /** What the file was read as: only a UTF-8 file's scanner offsets are its own byte offsets. */
  encoding: Encoding;
  /** Bytes of the file before the first one pushed (a UTF-8 byte order mark). */
  skipped: number;
  delimiter: number;
  lineBreak: number;
}

/** How a UTF-8 CSV's records are read from part-way through: what its first read decided, and the records before. */
export interface CsvReading {
  delimiter: number;
  lineBreak: number;
  rowsBefore: number;
}

async function* chunksOf(reader: ChunkReader, first: Uint8Array[], done: boolean): AsyncGenerator<Uint8Array> {
  try {
    yield* first;
    while (!done) {
      const chunk = await reader.read();
      if (!chunk) break;
      yield chunk;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Opens `body` (a stored file of `width` columns) for scanning: reads its head, sets the scanner up as ingest did. */
export async function openStoredCsv(body: ReadableStream<Uint8Array>, parse: ParseOptions, width: number): Promise<StoredCsv> {
  const { encoding, reader } = await utf8Reader(new BodyReader(body), parse.encoding ?? "utf-8");
  const head = await readCsvHead(reader, parse.delimiter);
  const delimiter = head.delimiter.charCodeAt(0);
  const scanner = new CsvScanner(delimiter, head.lineBreak, width + 1, MAX_RECORD_BYTES);
  const chunks = chunksOf(reader, head.chunks, head.done);
  return { scanner, chunks, encoding, skipped: head.bom, delimiter, lineBreak: head.lineBreak };
}

/** `body` is a UTF-8 file's bytes from a record's first byte on: scanned as `reading` says, row numbers going on from there. */
export function resumeStoredCsv(body: ReadableStream<Uint8Array>, reading: CsvReading, width: number): StoredCsv {
  const { delimiter, lineBreak, rowsBefore } = reading;
  const scanner = new CsvScanner(delimiter, lineBreak, width + 1, MAX_RECORD_BYTES, rowsBefore);
  return { scanner, chunks: chunksOf(new BodyReader(body), [], false), encoding: "utf-8", skipped: 0, delimiter, lineBreak };
}
