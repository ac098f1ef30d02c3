// Turns a dataset's text stream into rows: CSV (papaparse's parser), a JSON array (@streamparser/json) or NDJSON.
import { JSONParser } from "@streamparser/json";
import Papa from "papaparse";
import { ApiError } from "../../lib/problem.ts";
import type { Format, ParseOptions } from "../../db/dataset-documents.ts";
import { columnNames, headerOf, raggedRowDetail } from "./csv-header.ts";
import type { Cell } from "./profile/types.ts";
import { rawOfText, type RejectSink } from "./rejects.ts";

export type { Format, ParseOptions };

/**
 * Rows as arrays of cells in the order of `columns` (which may grow as later JSON objects bring new
 * keys), in batches: one await per chunk of input, not per row.
 */
export interface RowStream {
  columns: string[];
  rows: AsyncGenerator<Cell[][]>;
}

const unprocessable = (code: "CSV_MALFORMED" | "JSON_MALFORMED", detail: string) => new ApiError(422, { code, detail });

/** The delimiter that splits the first lines most consistently (outside quotes). */
export function sniffDelimiter(sample: string): string {
  const lines = sample
    .split(/\r?\n/)
    .filter((line) => line.length > 0)
    .slice(0, 20);
  let best = ",";
  let bestScore = 0;
  for (const candidate of [",", ";", "\t", "|"]) {
    const counts = lines.map((line) => {
      let count = 0;
      let quoted = false;
      for (const char of line) {
        if (char === '"') quoted = !quoted;
        else if (char === candidate && !quoted) count++;
      }
      return count;
    });
    const first = counts[0] ?? 0;
    // Consistent across lines scores highest; a candidate absent from the header scores nothing.
    const score = first === 0 ? 0 : counts.filter((count) => count === first).length * 1000 + first;
    if (score > bestScore) [best, bestScore] = [candidate, score];
  }
  return best;
}

/** Reads the first chunks without losing them: the stream returned still starts at the beginning. `complete`: the head is all of it. */
async function peek(text: ReadableStream<string>): Promise<{ head: string; complete: boolean; stream: ReadableStream<string> }> {
  const reader = text.getReader();
  let head = "";
  const held: string[] = [];
  let complete = false;
  while (head.length < 64 * 1024) {
    const { value, done } = await reader.read();
    if (done) {
      complete = true;
      break;
    }
    held.push(value);
    head += value;
  }
  const stream = new ReadableStream<string>({
    async pull(controller) {
      const next = held.shift();
      if (next !== undefined) return controller.enqueue(next);
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { head, complete, stream };
}

/** One row longer than this means an unclosed quote swallowing the file: refuse instead of buffering it. */
const MAX_ROW_CHARS = 1024 * 1024;

async function csvRows(text: ReadableStream<string>, options: ParseOptions): Promise<RowStream & { options: ParseOptions }> {
  const { head, complete, stream } = await peek(text);
  const delimiter = options.delimiter ?? sniffDelimiter(head);
  const newline = head.includes("\r\n") ? "\r\n" : head.includes("\n") ? "\n" : "\r";
  // papaparse's own Parser, fed chunk by chunk as its ChunkStreamer does: the unfinished last row carries over.
  const parser = new Papa.Parser({ delimiter, newline, quoteChar: '"' });
  const reader = stream.getReader();
  let carry = "";
  let line = 0;

  async function* records(): AsyncGenerator<string[][]> {
    for (;;) {
      const { value, done } = await reader.read();
      const input = carry + (value ?? "");
      const result = parser.parse(input, 0, !done) as {
        data: string[][];
        errors: { code: string; row: number }[];
        meta: { cursor: number };
      };
      if (result.errors.some((error) => error.code === "MissingQuotes")) {
        throw unprocessable(
          "CSV_MALFORMED",
          `The CSV is malformed: a quote opened near line ${line + (result.errors[0]?.row ?? 0) + 1} is never closed.`,
        );
      }
      carry = done ? "" : input.slice(result.meta.cursor);
      if (carry.length > MAX_ROW_CHARS)
        throw unprocessable(
          "CSV_MALFORMED",
          `The CSV is malformed: a row near line ${line + 1} runs past ${MAX_ROW_CHARS} characters (an unclosed quote?).`,
        );
      const batch: string[][] = [];
      for (const record of result.data) {
        line++;
        if (record.length !== 1 || record[0] !== "") batch.push(record); // not a blank line
      }
      if (batch.length > 0) yield batch;
      if (done) return;
    }
  }

  const all = records();
  const firstBatch = await all.next();
  const head0 = firstBatch.done ? undefined : firstBatch.value[0];
  if (!head0) throw new ApiError(422, { code: "EMPTY_FILE", detail: "The file is empty." });
  const header = options.header ?? headerOf(head, delimiter, complete);
  const width = head0.length;
  const columns = columnNames(head0, header);
  let row = header ? 1 : 0;
  // Under skip a record of another width is left out, as the upload left it out (its report was made there, from the bytes).
  const skip = options.onError === "skip";
  const checked = (batch: string[][]) => {
    let ragged = false;
    for (const record of batch) {
      row++;
      if (record.length !== width) {
        if (!skip) throw unprocessable("CSV_MALFORMED", raggedRowDetail(row, record.length, width));
        ragged = true;
      }
    }
    return ragged ? batch.filter((record) => record.length === width) : batch;
  };
  async function* rows(): AsyncGenerator<Cell[][]> {
    const rest = header ? firstBatch.value!.slice(1) : firstBatch.value!;
    const first = checked(rest);
    if (first.length > 0) yield first;
    for await (const batch of all) {
      const kept = checked(batch);
      if (kept.length > 0) yield kept;
    }
  }
  return { columns, rows: rows(), options: { format: "csv", delimiter, header, ...(skip ? { onError: "skip" as const } : {}) } };
}

/** NUL (U+0000) is data Postgres cannot keep (not in text, not as \u0000 in jsonb): it is stored as U+FFFD. */
const NUL = "\u0000";
const REPLACEMENT = "\uFFFD";
const TOO_DEEP = -1;
const HAS_NUL = 1;

/**
 * One nested value's check, bounded by `levels` (so the recursion is too): TOO_DEEP when it nests
 * deeper, else HAS_NUL when a string or key in it holds NUL, else 0.
 */
function inspect(value: object, levels: number): number {
  if (levels < 1) return TOO_DEEP;
  let found = 0;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item === "string") found |= item.includes(NUL) ? HAS_NUL : 0;
      else if (item !== null && typeof item === "object") {
        const inner = inspect(item as object, levels - 1);
        if (inner === TOO_DEEP) return TOO_DEEP;
        found |= inner;
      }
    }
    return found;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (key.includes(NUL)) found = HAS_NUL;
    if (typeof item === "string") found |= item.includes(NUL) ? HAS_NUL : 0;
    else if (item !== null && typeof item === "object") {
      const inner = inspect(item, levels - 1);
      if (inner === TOO_DEEP) return TOO_DEEP;
      found |= inner;
    }
  }
  return found;
}

/** `value` with NUL replaced in every string and key (its depth already checked by inspect()). */
function withoutNul(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll(NUL, REPLACEMENT);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(withoutNul);
  const out: Record<string, unknown> = {};
  for (const key in value) out[key.replaceAll(NUL, REPLACEMENT)] = withoutNul((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * A batch of parsed values. NDJSON gives each value's line number, and under skip its source text
 * (for the reject report); a JSON array's values are numbered by their place.
 */
interface ValueBatch {
  values: unknown[];
  lines: number[] | null;
  sources: string[] | null;
}

/** An NDJSON line that could not be a row (not JSON, or too long to hold), kept in its place under skip. */
class Unparsed {
  constructor(
    readonly reason: "JSON_MALFORMED" | "ROW_TOO_LARGE",
    readonly raw: string,
  ) {}
}

/** What skipping needs: whether to, and where a left-out row is reported (the upload's log; readers pass none). */
interface Skipping {
  skip: boolean;
  onReject?: RejectSink;
}

const describeValue = (value: unknown) => (Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`);

/** A value's JSON for the report (a JSON array's element has no source text of its own), cut at 1 KiB. */
function rawOfValue(value: unknown): string {
  try {
    return rawOfText(JSON.stringify(value) ?? String(value));
  } catch {
    return ""; // nested past what stringify's recursion takes
  }
}

/**
 * Objects' keys become columns, in the order first seen. A nested value (an object or array in a
 * cell) may nest `maxDepth` levels counting the row's object; deeper is refused, as Postgres's
 * jsonb and the profiler's JSON.stringify would fail on it. Under skip such rows (and values that
 * are not objects, and NDJSON lines that are not JSON) are left out instead, adding no columns.
 */
function objectRows(
  batches: AsyncGenerator<ValueBatch>,
  describe: (index: number) => string,
  maxDepth: number,
  { skip, onReject }: Skipping,
): RowStream {
  const columns: string[] = [];
  const index = new Map<string, number>();
  const tooDeep = (n: number) =>
    new ApiError(422, { code: "JSON_TOO_DEEP", detail: `The JSON nests deeper than ${maxDepth} levels (the limit) in ${describe(n)}.` });
  /** Forgets the columns a left-out row brought. */
  const rollback = (before: number) => {
    if (columns.length === before) return;
    for (const [key, i] of index) if (i >= before) index.delete(key);
    columns.length = before;
  };
  const toRow = (value: unknown, n: number): Cell[] | undefined => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      if (skip) return undefined;
      throw unprocessable("JSON_MALFORMED", `The JSON must hold objects (one per row), but ${describe(n)} is ${describeValue(value)}.`);
    }
    const before = columns.length;
    const row: Cell[] = new Array(columns.length);
    const object = value as Record<string, Cell>;
    for (const key in object) {
      let i = index.get(key);
      if (i === undefined) {
        i = columns.push(key.replaceAll(NUL, REPLACEMENT)) - 1;
        index.set(key, i);
      }
      let cell = object[key];
      if (typeof cell === "string") {
        if (cell.includes(NUL)) cell = cell.replaceAll(NUL, REPLACEMENT);
      } else if (cell !== null && typeof cell === "object") {
        const found = inspect(cell, maxDepth - 1);
        if (found === TOO_DEEP) {
          if (!skip) throw tooDeep(n);
          rollback(before);
          return undefined;
        }
        if (found === HAS_NUL) cell = withoutNul(cell) as Cell;
      }
      row[i] = cell;
    }
    return row;
  };
  /** The reason `value` was left out (toRow gave nothing): it was no object, or nested too deep. */
  const reasonFor = (value: unknown) =>
    value !== null && typeof value === "object" && !Array.isArray(value) ? ("JSON_TOO_DEEP" as const) : ("NOT_AN_OBJECT" as const);
  async function* rows(): AsyncGenerator<Cell[][]> {
    let n = 0;
    for await (const { values, lines, sources } of batches) {
      const out: Cell[][] = [];
      for (let j = 0; j < values.length; j++) {
        const value = values[j];
        const line = lines ? lines[j]! : n + 1;
        if (value instanceof Unparsed) {
          onReject?.(line, null, value.reason, () => value.raw);
          continue;
        }
        n++;
        const row = toRow(value, n);
        if (row) out.push(row);
        else onReject?.(line, null, reasonFor(value), () => (sources ? rawOfText(sources[j]!) : rawOfValue(value)));
      }
      if (out.length > 0) yield out;
    }
  }
  return { columns, rows: rows() };
}

async function* jsonArrayValues(text: ReadableStream<string>): AsyncGenerator<ValueBatch> {
  const { head, stream } = await peek(text);
  if (head.trimStart()[0] !== "[")
    throw unprocessable(
      "JSON_MALFORMED",
      "The JSON must be an array of objects (it does not start with [). For one object per line, send NDJSON.",
    );
  let queue: unknown[] = [];
  const parser = new JSONParser({ paths: ["$.*"], keepStack: false });
  parser.onValue = ({ value }) => void queue.push(value);
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    try {
      if (!done) parser.write(value);
      else if (!parser.isEnded) parser.end();
    } catch (error) {
      throw unprocessable("JSON_MALFORMED", `The JSON is malformed: ${error instanceof Error ? error.message : String(error)}.`);
    }
    if (queue.length > 0) {
      yield { values: queue, lines: null, sources: null };
      queue = [];
    }
    if (done) return;
  }
}

/** The longest NDJSON line (one row): 8 Mi characters. */
const MAX_LINE_CHARS = 8 * 1024 * 1024;

/**
 * NDJSON, one value a line. A line's pieces are kept apart until its end is seen and joined once:
 * each chunk is searched for line breaks from where the last one was, so a line of any length is
 * read in time linear in its length (appending to it and splitting it again per chunk was quadratic).
 * Under skip a line that is not JSON, or runs past MAX_LINE_CHARS (the rest of it is then passed
 * over unread), stays in its place as Unparsed.
 */
async function* ndjsonValues(text: ReadableStream<string>, skip: boolean): AsyncGenerator<ValueBatch> {
  const reader = text.getReader();
  let pieces: string[] = [];
  let held = 0;
  let line = 0;
  /** Past the end of a line too long to hold, until its line break. */
  let discarding = false;
  const tooLarge = (at: number) =>
    new ApiError(422, {
      code: "ROW_TOO_LARGE",
      detail: `Line ${at} runs past ${MAX_LINE_CHARS} characters, the most one NDJSON row may have.`,
    });
  const take = (source: string, batch: ValueBatch) => {
    line++;
    if (source.trim() === "") return;
    let value: unknown;
    // Judged by the whole line too, not only while it is held: how a line falls into chunks differs between readers.
    if (source.length > MAX_LINE_CHARS) {
      if (!skip) throw tooLarge(line);
      value = new Unparsed("ROW_TOO_LARGE", rawOfText(source.slice(0, 1024)));
    } else
      try {
        value = JSON.parse(source) as unknown;
      } catch {
        if (!skip) throw unprocessable("JSON_MALFORMED", `Line ${line} is not JSON.`);
        value = new Unparsed("JSON_MALFORMED", rawOfText(source));
      }
    batch.values.push(value);
    batch.lines!.push(line);
    batch.sources?.push(source);
  };
  for (;;) {
    const { value, done } = await reader.read();
    const batch: ValueBatch = { values: [], lines: [], sources: skip ? [] : null };
    if (!done) {
      let from = 0;
      for (let at = value.indexOf("\n"); at !== -1; from = at + 1, at = value.indexOf("\n", from)) {
        if (discarding) {
          discarding = false; // the too-long line ends here; it was counted and reported when it passed the limit
          continue;
        }
        const head = value.slice(from, at);
        if (pieces.length === 0) take(head, batch);
        else {
          pieces.push(head);
          take(pieces.join(""), batch);
          pieces = [];
        }
      }
      if (from < value.length && !discarding) {
        pieces.push(value.slice(from));
        // A row is held whole to parse it: past MAX_LINE_CHARS it would take the isolate's memory (128 MB).
        held = pieces.length === 1 ? value.length - from : held + value.length - from;
        if (held > MAX_LINE_CHARS) {
          if (!skip) throw tooLarge(line + 1);
          line++;
          // The line's start, from as few of its pieces as hold 1 KiB (joining them all would copy 8 Mi characters).
          let start = "";
          for (const piece of pieces) if (start.length < 1024) start += piece.slice(0, 1024);
          batch.values.push(new Unparsed("ROW_TOO_LARGE", rawOfText(start)));
          batch.lines!.push(line);
          batch.sources!.push("");
          pieces = [];
          discarding = true;
        }
      }
    } else if (pieces.length > 0) {
      take(pieces.join(""), batch);
      pieces = [];
    }
    if (batch.values.length > 0) yield batch;
    if (done) return;
  }
}

/** The highest MAX_JSON_DEPTH may be; stored files are read back with it (they passed the limit of their day). */
export const JSON_DEPTH_CEILING = 100;

export interface RowLimits {
  /** How deep a JSON row may nest, its own object counting as 1 (MAX_JSON_DEPTH). */
  maxDepth: number;
}

/**
 * Rows of `text` in `options.format`; for CSV the options it settled on (delimiter, header). Under
 * `options.onError` "skip" rows that fail the checks are left out; JSON and NDJSON ones go to `onReject`
 * (a CSV's are reported by the upload's byte scanner, which reads its uploads).
 */
export async function rowsOf(
  text: ReadableStream<string>,
  options: ParseOptions,
  { maxDepth }: RowLimits,
  onReject?: RejectSink,
): Promise<RowStream & { options: ParseOptions }> {
  if (options.format === "csv") return csvRows(text, options);
  const skipping = { skip: options.onError === "skip", onReject };
  // Under skip the depth a row was judged by at upload is kept: a reader must leave out exactly the rows the upload did.
  const depth = skipping.skip ? (options.maxDepth ?? maxDepth) : maxDepth;
  const settled: ParseOptions = skipping.skip ? { ...options, maxDepth: depth } : options;
  if (options.format === "json") return { ...objectRows(jsonArrayValues(text), (n) => `element ${n}`, depth, skipping), options: settled };
  return { ...objectRows(ndjsonValues(text, skipping.skip), (n) => `row ${n}`, depth, skipping), options: settled };
}
