// A JSON or NDJSON dataset's rows written as CSV (RFC 4180): a header of the profile's columns, then one record per row, a batch at a time.
import type { Cell } from "../datasets/profile/types.ts";

/** Quoted when it holds a comma, quote or line break, or starts or ends with whitespace (which readers may trim). */
const needsQuotes = /[",\r\n]|^\s|\s$/;

/** One cell as CSV text: null and missing are empty, objects and arrays their JSON, values as written (no formula escaping: the data stays exact). */
export function csvCell(cell: Cell): string {
  if (cell === null || cell === undefined) return "";
  const text = typeof cell === "string" ? cell : typeof cell === "object" ? JSON.stringify(cell) : String(cell);
  return needsQuotes.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const record = (cells: readonly Cell[], width: number) => {
  let line = "";
  for (let i = 0; i < width; i++) line += (i === 0 ? "" : ",") + csvCell(cells[i]);
  return `${line}\r\n`;
};

/** The CSV text, in pieces: the header, then each batch of rows. */
export async function* csvText(columns: readonly string[], rows: AsyncIterable<Cell[][]>): AsyncGenerator<string> {
  yield record(columns, columns.length);
  for await (const batch of rows) {
    let text = "";
    for (const row of batch) text += record(row, columns.length);
    yield text;
  }
}
