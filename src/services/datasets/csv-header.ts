// A CSV's first record and its width: whether it names the columns, the names it gives, and the error for a row of another
// width. The upload (ingest.ts, the byte scanner) and the read-back (parsers.ts, papaparse) both follow these rules.
import { PLAIN_NUMBER } from "./profile/cells.ts";

/** A first CSV record is a header when its cells are all non-empty, distinct and not numbers. */
export function looksLikeHeader(cells: string[]): boolean {
  const trimmed = cells.map((cell) => cell.trim());
  return trimmed.every((cell) => cell.length > 0 && !PLAIN_NUMBER.test(cell)) && new Set(trimmed).size === trimmed.length;
}

/** The columns' names: the header's cells, trimmed (a blank one is named by its place), or column_1, column_2… without one. */
export function columnNames(first: string[], header: boolean): string[] {
  return first.map((cell, i) => (header && cell.trim()) || `column_${i + 1}`);
}

/** The detail of CSV_MALFORMED for record `row` (1-based, the header counting) of `count` cells in a file `width` wide. */
export const raggedRowDetail = (row: number, count: number, width: number) =>
  `The CSV is malformed: row ${row} has ${count} columns where the first has ${width} (column ${Math.min(count, width) + 1} is where they part).`;
