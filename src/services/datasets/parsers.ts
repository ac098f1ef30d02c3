// Turns a dataset's text stream into rows: CSV (papaparse's parser), a JSON array (@streamparser/json) or NDJSON.
import { JSONParser } from "@streamparser/json";
import Papa from "papaparse";
import { ApiError } from "../../lib/problem.ts";
import type { Cell } from "./profiler.ts";

export type Format = "csv" | "json" | "ndjson";

/** How a stored file is read back (kept with the dataset, so previews parse it the same way). */
export interface ParseOptions {
  format: Format;
  delimiter?: string;
  /** CSV: whether the first line names the columns. */
  header?: boolean;
}

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
  const lines = sample.split(/\r?\n/).filter((line) => line.length > 0).slice(0, 20);
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

/** A first CSV record is a header when its cells are all non-empty, distinct and not numbers. */
export function looksLikeHeader(cells: string[]): boolean {
  const trimmed = cells.map((cell) => cell.trim());
  return trimmed.every((cell) => cell.length > 0 && !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(cell)) && new Set(trimmed).size === trimmed.length;
}

/** Reads the first chunk without losing it: the stream returned still starts at the beginning. */
async function peek(text: ReadableStream<string>): Promise<{ head: string; stream: ReadableStream<string> }> {
  const reader = text.getReader();
  let head = "";
  const held: string[] = [];
  while (head.length < 64 * 1024) {
    const { value, done } = await reader.read();
    if (done) break;
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
  return { head, stream };
}

/** One row longer than this means an unclosed quote swallowing the file: refuse instead of buffering it. */
const MAX_ROW_CHARS = 1024 * 1024;

async function csvRows(text: ReadableStream<string>, options: ParseOptions): Promise<RowStream & { options: ParseOptions }> {
  const { head, stream } = await peek(text);
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
      const result = parser.parse(input, 0, !done) as { data: string[][]; errors: { code: string; row: number }[]; meta: { cursor: number } };
      if (result.errors.some((error) => error.code === "MissingQuotes")) {
        throw unprocessable("CSV_MALFORMED", `The CSV is malformed: a quote opened near line ${line + (result.errors[0]?.row ?? 0) + 1} is never closed.`);
      }
      carry = done ? "" : input.slice(result.meta.cursor);
      if (carry.length > MAX_ROW_CHARS) throw unprocessable("CSV_MALFORMED", `The CSV is malformed: a row near line ${line + 1} runs past ${MAX_ROW_CHARS} characters (an unclosed quote?).`);
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
  const header = options.header ?? looksLikeHeader(head0);
  const width = head0.length;
  const columns = header ? head0.map((cell, i) => cell.trim() || `column_${i + 1}`) : head0.map((_, i) => `column_${i + 1}`);
  let row = header ? 1 : 0;
  const checked = (batch: string[][]) => {
    for (const record of batch) {
      row++;
      if (record.length !== width) {
        throw unprocessable("CSV_MALFORMED", `The CSV is malformed: row ${row} has ${record.length} columns where the first has ${width} (column ${Math.min(record.length, width) + 1} is where they part).`);
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

/** Objects' keys become columns, in the order first seen. */
function objectRows(batches: AsyncGenerator<unknown[]>, describe: (index: number) => string): RowStream {
  const columns: string[] = [];
  const index = new Map<string, number>();
  const toRow = (value: unknown, n: number): Cell[] => {
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw unprocessable("JSON_MALFORMED", `The JSON must hold objects (one per row), but ${describe(n)} is ${Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`}.`);
      }
      const row: Cell[] = new Array(columns.length);
      for (const [key, cell] of Object.entries(value as Record<string, Cell>)) {
        let i = index.get(key);
        if (i === undefined) {
          i = columns.push(key) - 1;
          index.set(key, i);
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
  if (head.trimStart()[0] !== "[") throw unprocessable("JSON_MALFORMED", "The JSON must be an array of objects (it does not start with [). For one object per line, send NDJSON.");
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

async function* ndjsonValues(text: ReadableStream<string>): AsyncGenerator<unknown[]> {
  const reader = text.getReader();
  let pending = "";
  let line = 0;
  const parseLine = (source: string) => {
    try {
      return JSON.parse(source) as unknown;
    } catch {
      throw unprocessable("JSON_MALFORMED", `Line ${line} is not JSON.`);
    }
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (!done) pending += value;
    const lines = pending.split("\n");
    pending = done ? "" : (lines.pop() ?? "");
    const batch: unknown[] = [];
    for (const source of lines) {
      line++;
      if (source.trim() !== "") batch.push(parseLine(source));
    }
    if (batch.length > 0) yield batch;
    if (done) return;
  }
}

/** Rows of `text` in `options.format`; for CSV the options it settled on (delimiter, header). */
export async function rowsOf(text: ReadableStream<string>, options: ParseOptions): Promise<RowStream & { options: ParseOptions }> {
  if (options.format === "csv") return csvRows(text, options);
  if (options.format === "json") return { ...objectRows(jsonArrayValues(text), (n) => `element ${n}`), options };
  return { ...objectRows(ndjsonValues(text), (n) => `row ${n}`), options };
}
