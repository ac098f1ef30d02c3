// Turns a dataset's text stream into rows: CSV (csv-parse), a JSON array (@streamparser/json) or NDJSON.
import { Buffer } from "node:buffer";
import { JSONParser } from "@streamparser/json";
import { CsvError, parse as csvParse } from "csv-parse/stream";
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

/** Rows as arrays of cells in the order of `columns`, which may grow as later JSON objects bring new keys. */
export interface RowStream {
  columns: string[];
  rows: AsyncGenerator<Cell[]>;
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

function csvError(error: unknown): never {
  if (error instanceof CsvError) {
    const record = (error as CsvError & { records?: number }).records;
    const where = `row ${(record ?? 0) + 1} (line ${(error as CsvError & { lines?: number }).lines ?? "?"})`;
    const why =
      error.code === "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH"
        ? "has a different number of columns than the header"
        : error.code === "CSV_QUOTE_NOT_CLOSED"
          ? "opens a quote that is never closed"
          : error.message;
    throw unprocessable("CSV_MALFORMED", `The CSV is malformed: ${where} ${why}.`);
  }
  throw error;
}

async function csvRows(text: ReadableStream<string>, options: ParseOptions): Promise<RowStream & { options: ParseOptions }> {
  const { head, stream } = await peek(text);
  const delimiter = options.delimiter ?? sniffDelimiter(head);
  // csv-parse concatenates Buffers internally: hand it the decoded (validated) text as UTF-8 bytes.
  const bytes = stream.pipeThrough(new TransformStream<string, Buffer>({ transform: (chunk, controller) => controller.enqueue(Buffer.from(chunk, "utf8")) }));
  const records = bytes.pipeThrough(csvParse({ delimiter, skip_empty_lines: true, relax_column_count: false }) as unknown as TransformStream<Buffer, string[]>);
  const reader = records.getReader();
  const first = await reader.read().catch(csvError);
  if (first.done) throw new ApiError(422, { code: "EMPTY_FILE", detail: "The file is empty." });
  const header = options.header ?? looksLikeHeader(first.value);
  const columns = header ? first.value.map((cell, i) => cell.trim() || `column_${i + 1}`) : first.value.map((_, i) => `column_${i + 1}`);
  async function* rows(): AsyncGenerator<Cell[]> {
    if (!header) yield first.value as string[];
    for (;;) {
      const next = await reader.read().catch(csvError);
      if (next.done) return;
      yield next.value;
    }
  }
  return { columns, rows: rows(), options: { format: "csv", delimiter, header } };
}

/** Objects' keys become columns, in the order first seen. */
function objectRows(values: AsyncGenerator<unknown>, describe: (index: number) => string): RowStream {
  const columns: string[] = [];
  const index = new Map<string, number>();
  async function* rows(): AsyncGenerator<Cell[]> {
    let n = 0;
    for await (const value of values) {
      n++;
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
      yield row;
    }
  }
  return { columns, rows: rows() };
}

async function* jsonArrayValues(text: ReadableStream<string>): AsyncGenerator<unknown> {
  const { head, stream } = await peek(text);
  if (head.trimStart()[0] !== "[") throw unprocessable("JSON_MALFORMED", "The JSON must be an array of objects (it does not start with [). For one object per line, send NDJSON.");
  const queue: unknown[] = [];
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
    while (queue.length > 0) yield queue.shift();
    if (done) return;
  }
}

async function* ndjsonValues(text: ReadableStream<string>): AsyncGenerator<unknown> {
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
    for (const source of lines) {
      line++;
      if (source.trim() !== "") yield parseLine(source);
    }
    if (done) return;
  }
}

/** Rows of `text` in `options.format`; for CSV the options it settled on (delimiter, header). */
export async function rowsOf(text: ReadableStream<string>, options: ParseOptions): Promise<RowStream & { options: ParseOptions }> {
  if (options.format === "csv") return csvRows(text, options);
  if (options.format === "json") return { ...objectRows(jsonArrayValues(text), (n) => `element ${n}`), options };
  return { ...objectRows(ndjsonValues(text), (n) => `row ${n}`), options };
}
