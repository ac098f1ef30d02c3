// Turns a dataset's text stream into rows: CSV (papaparse's parser), a JSON array (@streamparser/json) or NDJSON.
import { JSONParser } from "@streamparser/json";
import Papa from "papaparse";
import { ApiError } from "../../lib/problem.ts";
import type { Format, ParseOptions } from "../../db/dataset-documents.ts";
import { columnNames, headerOf, raggedRowDetail } from "./csv-header.ts";
import type { Cell } from "./profile/types.ts";

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
  const checked = (batch: string[][]) => {
    for (const record of batch) {
      row++;
      if (record.length !== width) {
        throw unprocessable("CSV_MALFORMED", raggedRowDetail(row, record.length, width));
      }
    }
    return batch;
  };
  async function* rows(): AsyncGenerator<Cell[][]> {
    const rest = header ? firstBatch.value!.slice(1) : firstBatch.value!;
    if (rest.length > 0) yield checked(rest);
    for await (const batch of all) yield checked(batch);
  }
  return { columns, rows: rows(), options: { format: "csv", delimiter, header } };
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
 * Objects' keys become columns, in the order first seen. A nested value (an object or array in a
 * cell) may nest `maxDepth` levels counting the row's object; deeper is refused, as Postgres's
 * jsonb and the profiler's JSON.stringify would fail on it.
 */
function objectRows(batches: AsyncGenerator<unknown[]>, describe: (index: number) => string, maxDepth: number): RowStream {
  const columns: string[] = [];
  const index = new Map<string, number>();
  const tooDeep = (n: number) =>
    new ApiError(422, { code: "JSON_TOO_DEEP", detail: `The JSON nests deeper than ${maxDepth} levels (the limit) in ${describe(n)}.` });
  const toRow = (value: unknown, n: number): Cell[] => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw unprocessable(
        "JSON_MALFORMED",
        `The JSON must hold objects (one per row), but ${describe(n)} is ${Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`}.`,
      );
    }
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
        if (found === TOO_DEEP) throw tooDeep(n);
        if (found === HAS_NUL) cell = withoutNul(cell) as Cell;
      }
      row[i] = cell;
    }
    return row;
  };
  async function* rows(): AsyncGenerator<Cell[][]> {
    let n = 0;
    for await (const batch of batches) yield batch.map((value) => toRow(value, ++n));
  }
  return { columns, rows: rows() };
}

async function* jsonArrayValues(text: ReadableStream<string>): AsyncGenerator<unknown[]> {
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
      yield queue;
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
 */
async function* ndjsonValues(text: ReadableStream<string>): AsyncGenerator<unknown[]> {
  const reader = text.getReader();
  let pieces: string[] = [];
  let held = 0;
  let line = 0;
  const parseLine = (source: string) => {
    try {
      return JSON.parse(source) as unknown;
    } catch {
      throw unprocessable("JSON_MALFORMED", `Line ${line} is not JSON.`);
    }
  };
  const take = (source: string, batch: unknown[]) => {
    line++;
    if (source.trim() !== "") batch.push(parseLine(source));
  };
  for (;;) {
    const { value, done } = await reader.read();
    const batch: unknown[] = [];
    if (!done) {
      let from = 0;
      for (let at = value.indexOf("\n"); at !== -1; from = at + 1, at = value.indexOf("\n", from)) {
        const head = value.slice(from, at);
        if (pieces.length === 0) take(head, batch);
        else {
          pieces.push(head);
          take(pieces.join(""), batch);
          pieces = [];
        }
      }
      if (from < value.length) {
        pieces.push(value.slice(from));
        // A row is held whole to parse it: past MAX_LINE_CHARS it would take the isolate's memory (128 MB).
        held = pieces.length === 1 ? value.length - from : held + value.length - from;
        if (held > MAX_LINE_CHARS) {
          throw new ApiError(422, {
            code: "ROW_TOO_LARGE",
            detail: `Line ${line + 1} runs past ${MAX_LINE_CHARS} characters, the most one NDJSON row may have.`,
          });
        }
      }
    } else if (pieces.length > 0) {
      take(pieces.join(""), batch);
      pieces = [];
    }
    if (batch.length > 0) yield batch;
    if (done) return;
  }
}

/** The highest MAX_JSON_DEPTH may be; stored files are read back with it (they passed the limit of their day). */
export const JSON_DEPTH_CEILING = 100;

export interface RowLimits {
  /** How deep a JSON row may nest, its own object counting as 1 (MAX_JSON_DEPTH). */
  maxDepth: number;
}

/** Rows of `text` in `options.format`; for CSV the options it settled on (delimiter, header). */
export async function rowsOf(
  text: ReadableStream<string>,
  options: ParseOptions,
  { maxDepth }: RowLimits,
): Promise<RowStream & { options: ParseOptions }> {
  if (options.format === "csv") return csvRows(text, options);
  if (options.format === "json") return { ...objectRows(jsonArrayValues(text), (n) => `element ${n}`, maxDepth), options };
  return { ...objectRows(ndjsonValues(text), (n) => `row ${n}`, maxDepth), options };
}
