// A stored CSV read back exactly as ingest read it: decoded to UTF-8 from its encoding, delimiter and line break from the
// first HEAD_BYTES, the BOM dropped, the same scanner and record limit. Used by the store's load and by downloads, which then convert each record their way.
import { BodyReader } from "./body-reader.ts";
import { CsvScanner } from "./csv-scanner.ts";
import { utf8Reader } from "./encoding.ts";
import { readCsvHead } from "./csv-head.ts";
import { MAX_RECORD_BYTES } from "./ingest.ts";
import type { ParseOptions } from "./parsers.ts";

export interface StoredCsv {
  /** Push each chunk, then `end()`; records go to the callback given there, the header record (if any) first. */
  scanner: CsvScanner;
  /** The file's bytes as UTF-8, 256 KB at a time, the BOM gone; finishing or leaving the loop early releases the R2 read. */
  chunks: AsyncGenerator<Uint8Array>;
}

/** Opens `body` (a stored file of `width` columns) for scanning: reads its head, sets the scanner up as ingest did. */
export async function openStoredCsv(body: ReadableStream<Uint8Array>, parse: ParseOptions, width: number): Promise<StoredCsv> {
  const { reader } = await utf8Reader(new BodyReader(body), parse.encoding ?? "utf-8");
  const head = await readCsvHead(reader, parse.delimiter);
  const { done } = head;
  const scanner = new CsvScanner(head.delimiter.charCodeAt(0), head.lineBreak, width + 1, MAX_RECORD_BYTES);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      yield* head.chunks;
      while (!done) {
        const chunk = await reader.read();
        if (!chunk) break;
        yield chunk;
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
  return { scanner, chunks: chunks() };
}
