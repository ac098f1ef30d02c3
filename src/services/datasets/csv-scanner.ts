// Splits CSV bytes into records and cells without decoding them: the profiler reads each cell as a
// byte span, so a value it has seen before costs no string at all. RFC 4180 quoting ("" inside a
// quoted cell is a quote); a quote inside an unquoted cell is taken literally, as papaparse does.
import { ApiError } from "../../lib/problem.ts";

const QUOTE = 34;
const LF = 10;
const CR = 13;

/** Span flags: the cell was quoted and holds "" pairs, so its bytes need unescaping. */
export const ESCAPED = 1;

/**
 * Receives each complete record: cell i spans `bytes[cells[3i]]`…`bytes[cells[3i + 1]]`, with flags
 * `cells[3i + 2]`. `count` may exceed the spans stored (see `maxCells`); `row` numbers records from 1.
 * The whole record spans `bytes[start]`…`bytes[end]`, its line break included (for a report of the raw line).
 */
export type RecordSink = (bytes: Uint8Array, cells: Int32Array, count: number, row: number, start: number, end: number) => void;

const malformed = (detail: string) => new ApiError(422, { code: "CSV_MALFORMED", detail: `The CSV is malformed: ${detail}.` });

export class CsvScanner {
  /** The unfinished last record of the previous chunk, scanned again with the next one. */
  private carry: Uint8Array | null = null;
  private cells: Int32Array;
  /** Records seen so far, blank lines included (so a row number matches a spreadsheet's). */
  private row: number;
  /** Bytes pushed so far (carried ones included). */
  private pushed = 0;

  /**
   * @param lineBreak LF (which also ends a line after CR) or CR, for files that use CR alone.
   * @param maxCells  spans stored per record; more cells are counted but not stored.
   * @param maxRecordBytes a record longer than this is refused (an unclosed quote swallowing the file).
   * @param rowsBefore records before the first byte pushed (a scan resumed part-way through a file numbers on from there).
   */
  constructor(
    private readonly delimiter: number,
    private readonly lineBreak: number,
    private readonly maxCells: number,
    private readonly maxRecordBytes: number,
    rowsBefore = 0,
  ) {
    this.cells = new Int32Array(3 * Math.min(maxCells, 64));
    this.row = rowsBefore;
  }

  /**
   * Between pushes, where the complete records end: every byte before it went to a sink, the unfinished record after it
   * waits for the next chunk. A scan resumed from there (a new scanner, `rowsBefore` = `records`) reads the rest alike.
   */
  get consumed(): number {
    return this.pushed - (this.carry?.length ?? 0);
  }

  /** Records (blank lines included) emitted so far, `rowsBefore` included. */
  get records(): number {
    return this.row;
  }

  /** Scans `chunk` after any bytes carried over; each complete record goes to `sink`. */
  push(chunk: Uint8Array, sink: RecordSink) {
    this.pushed += chunk.length;
    let bytes = chunk;
    if (this.carry) {
      // Usually the carried record ends at the chunk's first line break: join only that much, not the whole chunk.
      const lineEnd = chunk.indexOf(this.lineBreak) + 1;
      const joined = join(this.carry, lineEnd > 0 ? chunk.subarray(0, lineEnd) : chunk);
      if (lineEnd > 0 && this.scan(joined, false, sink) === joined.length) bytes = chunk.subarray(lineEnd);
      else bytes = lineEnd > 0 ? join(this.carry, chunk) : joined; // the line break was inside quotes: nothing was emitted, so scan it all
      this.carry = null;
    }
    const used = this.scan(bytes, false, sink);
    this.carry = used < bytes.length ? bytes.slice(used) : null;
    if (this.carry && this.carry.length > this.maxRecordBytes) {
      throw malformed(`row ${this.row + 1} runs past ${this.maxRecordBytes} bytes (an unclosed quote?)`);
    }
  }

  /** The last record, which needs no line break after it. */
  end(sink: RecordSink) {
    if (this.carry) this.scan(this.carry, true, sink);
    this.carry = null;
  }

  /** Makes room for cell `index` (up to maxCells); false past maxCells, where cells are counted but not stored. */
  private room(index: number): boolean {
    if (index >= this.maxCells) return false;
    const grown = new Int32Array(Math.min(this.cells.length * 2, 3 * this.maxCells));
    grown.set(this.cells);
    this.cells = grown;
    return true;
  }

  private emit(bytes: Uint8Array, count: number, sink: RecordSink, start: number, end: number) {
    this.row++;
    // A blank line is one empty cell: skipped, as papaparse skips it.
    if (count === 1 && this.cells[0] === this.cells[1]) return;
    sink(bytes, this.cells, count, this.row, start, end);
  }

  /** Emits every complete record of `bytes`; returns where the unfinished one starts (bytes.length if none). */
  private scan(bytes: Uint8Array, final: boolean, sink: RecordSink): number {
    const { delimiter, lineBreak } = this;
    const crlf = lineBreak === LF;
    const n = bytes.length;
    let cells = this.cells;
    let pos = 0;
    while (pos < n) {
      const recordStart = pos;
      let count = 0;
      for (;;) {
        let start = pos;
        let end: number;
        let flags = 0;
        if (pos < n && bytes[pos] === QUOTE) {
          let from = pos + 1;
          for (;;) {
            // Most quoted cells are short: a loop finds their end sooner than a call to indexOf, which takes over after 32 bytes.
            const near = from + 32 < n ? from + 32 : n;
            let close = from;
            while (close < near && bytes[close] !== QUOTE) close++;
            if (close === near) close = near === n ? -1 : bytes.indexOf(QUOTE, near);
            if (close < 0 || (close + 1 === n && !final)) {
              if (!final) return recordStart;
              throw malformed(`a quote opened in row ${this.row + 1} is never closed`);
            }
            if (bytes[close + 1] === QUOTE) {
              flags = ESCAPED;
              from = close + 2;
              continue;
            }
            start = pos + 1;
            end = close;
            pos = close + 1;
            break;
          }
          if (pos < n) {
            const next = bytes[pos];
            const cr = next === CR && crlf;
            if (cr && pos + 1 === n && !final) return recordStart;
            if (next !== delimiter && next !== lineBreak && !(cr && (bytes[pos + 1] === LF || pos + 1 === n))) {
              throw malformed(`in row ${this.row + 1}, column ${count + 1}, a quoted value is followed by text before the next delimiter`);
            }
            if (cr) pos++;
          }
        } else {
          let byte = 0;
          while (pos < n && (byte = bytes[pos]!) !== delimiter && byte !== lineBreak) pos++;
          end = pos;
          if (pos === n && !final) return recordStart;
          // CR LF (or a CR ending the file): the CR ends the line, it is not part of the cell.
          if (byte !== delimiter && crlf && end > start && bytes[end - 1] === CR) end--;
        }
        if (3 * count + 3 > cells.length && this.room(count)) cells = this.cells;
        if (3 * count + 3 <= cells.length) {
          cells[3 * count] = start;
          cells[3 * count + 1] = end;
          cells[3 * count + 2] = flags;
        }
        count++;
        if (pos >= n) {
          this.emit(bytes, count, sink, recordStart, n);
          return n;
        }
        if (bytes[pos++] !== delimiter) break; // a line break (the CR of CR LF was stepped over above)
      }
      this.emit(bytes, count, sink, recordStart, pos);
    }
    return n;
  }
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** The bytes of an ESCAPED cell with each "" made ", written to `into` (grown as needed); returns [bytes, length]. */
export function unescapeCell(bytes: Uint8Array, start: number, end: number, into: Uint8Array): [Uint8Array, number] {
  const out = into.length >= end - start ? into : new Uint8Array(end - start);
  let length = 0;
  for (let i = start; i < end; i++) {
    out[length++] = bytes[i]!;
    if (bytes[i] === QUOTE) i++;
  }
  return [out, length];
}

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Cell i of a scanned record as text (throws on bytes that are not UTF-8: uploads are checked, stored files were). */
export function cellText(bytes: Uint8Array, cells: Int32Array, i: number): string {
  const start = cells[3 * i]!;
  const end = cells[3 * i + 1]!;
  if (cells[3 * i + 2] !== ESCAPED) return strict.decode(bytes.subarray(start, end));
  const [unescaped, length] = unescapeCell(bytes, start, end, new Uint8Array(end - start));
  return strict.decode(unescaped.subarray(0, length));
}
