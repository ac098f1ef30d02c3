// The first bytes of a CSV, read once the same way by ingest and by every reader of a stored file: what decides its delimiter,
// line break and header, with the BOM taken off the bytes the scanner will see.
import type { ChunkReader } from "./encoding.ts";
import { sniffDelimiter } from "./parsers.ts";

/** How much of a CSV is read before deciding its delimiter, line break and header. */
export const HEAD_BYTES = 64 * 1024;

/** A CSV's line break, from its first bytes: LF (which also ends CR LF lines) unless the file uses CR alone. */
export const lineBreakOf = (headText: string) => (headText.includes("\n") || !headText.includes("\r") ? 10 : 13);

export interface CsvHead {
  /** The chunks read, BOM gone: push them to the scanner before reading on. */
  chunks: Uint8Array[];
  /** The same bytes as text (a TextDecoder drops the BOM too). */
  text: string;
  /** Whether the file ended within the head. */
  done: boolean;
  delimiter: string;
  /** The line break's byte (LF or CR). */
  lineBreak: number;
  /** Bytes of a UTF-8 byte order mark taken off the first chunk (0 or 3). */
  bom: number;
}

/** Reads up to HEAD_BYTES of `reader`; the delimiter is `delimiter` when the dataset recorded one, else sniffed. */
export async function readCsvHead(reader: ChunkReader, delimiter?: string): Promise<CsvHead> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let done = false;
  while (bytes < HEAD_BYTES) {
    const chunk = await reader.read();
    if (!chunk) {
      done = true;
      break;
    }
    chunks.push(chunk);
    bytes += chunk.length;
  }
  const decoder = new TextDecoder();
  const text = chunks.map((chunk, i) => decoder.decode(chunk, { stream: i < chunks.length - 1 })).join("");
  // A byte order mark is not part of the first cell.
  const first = chunks[0];
  const bom = first && first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf ? 3 : 0;
  if (bom) chunks[0] = first!.subarray(bom);
  return { chunks, text, done, delimiter: delimiter ?? sniffDelimiter(text), lineBreak: lineBreakOf(text), bom };
}
