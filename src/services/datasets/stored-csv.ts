// A stored CSV read back exactly as ingest read it: decoded to UTF-8 from its encoding, delimiter and line break from the
// first HEAD_BYTES, the BOM dropped, the same scanner and record limit. Used by the store's load and by downloads, which then convert each record their way.
import { BodyReader } from "./body-reader.ts";
import { CsvScanner } from "./csv-scanner.ts";
import { utf8Reader } from "./encoding.ts";
import { HEAD_BYTES, lineBreakOf, MAX_RECORD_BYTES } from "./ingest.ts";
import { type ParseOptions, sniffDelimiter } from "./parsers.ts";

export interface StoredCsv {
  /** Push each chunk, then `end()`; records go to the callback given there, the header record (if any) first. */
  scanner: CsvScanner;
  /** The file's bytes as UTF-8, 256 KB at a time, the BOM gone; finishing or leaving the loop early releases the R2 read. */
  chunks: AsyncGenerator<Uint8Array>;
}

/** Opens `body` (a stored file of `width` columns) for scanning: reads its head, sets the scanner up as ingest did. */
export async function openStoredCsv(body: ReadableStream<Uint8Array>, parse: ParseOptions, width: number): Promise<StoredCsv> {
  const { reader } = await utf8Reader(new BodyReader(body), parse.encoding ?? "utf-8");
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
  const decoder = new TextDecoder();
  const headText = head.map((chunk, i) => decoder.decode(chunk, { stream: i < head.length - 1 })).join("");
  const delimiter = parse.delimiter ?? sniffDelimiter(headText);
  const scanner = new CsvScanner(delimiter.charCodeAt(0), lineBreakOf(headText), width + 1, MAX_RECORD_BYTES);
  const first = head[0];
  if (first && first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf) head[0] = first.subarray(3);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      yield* head;
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
