// A CSV's first record and its width: whether it names the columns, the names it gives, and the error for a row of another
// width. The upload (ingest.ts, the byte scanner) and the read-back (parsers.ts, papaparse) both follow these rules.
import Papa from "papaparse";
import { INTEGER, isNullText, parseNumber } from "./profile/cells.ts";

/** Records of the head read to decide (the first and those below it). */
const HEAD_RECORDS = 50;

/**
 * Whether `first` names the columns, judged against the records `below` it. Its cells must be
 * non-empty and distinct. Words name columns; a number names one when the rows below disagree with
 * it there (a blank, text, or a fraction under an integer: "1960" over "" or "2.5"), or when the
 * record's numbers are integers counting up by one beside a word ("Country,1960,1961,…": years).
 */
export function looksLikeHeader(first: string[], below: string[][]): boolean {
  const trimmed = first.map((cell) => cell.trim());
  if (trimmed.some((cell) => cell.length === 0) || new Set(trimmed).size !== trimmed.length) return false;
  const numbers = trimmed.map((cell) => parseNumber(cell));
  if (numbers.every((value) => value === null)) return true;
  const integers = trimmed.filter((cell, i) => numbers[i] !== null && INTEGER.test(cell)).map(Number);
  const countsUp =
    integers.length >= 2 &&
    integers.length === numbers.filter((value) => value !== null).length &&
    integers.every((value, i) => i === 0 || value === integers[i - 1]! + 1);
  if (countsUp && numbers.some((value) => value === null)) return true;
  return trimmed.every((cell, i) => {
    if (numbers[i] === null) return true;
    const integer = INTEGER.test(cell);
    return below.some((record) => {
      const value = record[i];
      if (value === undefined || isNullText(value)) return true;
      const number = parseNumber(value);
      return number === null || (integer && !INTEGER.test(value.trim()));
    });
  });
}

/**
 * Whether a CSV's first record is a header, from its head: the first HEAD_RECORDS records of
 * `headText` (its last record left out unless `complete`, the whole file, since it may be cut).
 */
export function headerOf(headText: string, delimiter: string, complete: boolean): boolean {
  const { data } = Papa.parse<string[]>(headText, { delimiter, preview: HEAD_RECORDS + 1, skipEmptyLines: true });
  const records = !complete && data.length > 1 ? data.slice(0, -1) : data;
  const [first, ...below] = records;
  return first !== undefined && looksLikeHeader(first, below.slice(0, HEAD_RECORDS - 1));
}

/** The columns' names: the header's cells, trimmed (a blank one is named by its place), or column_1, column_2… without one. */
export function columnNames(first: string[], header: boolean): string[] {
  return first.map((cell, i) => (header && cell.trim()) || `column_${i + 1}`);
}

/** The 1-based column where a record of `count` cells parts from a file `width` wide. */
export const partingColumn = (count: number, width: number) => Math.min(count, width) + 1;

/** The detail of CSV_MALFORMED for record `row` (1-based, the header counting) of `count` cells in a file `width` wide. */
export const raggedRowDetail = (row: number, count: number, width: number) =>
  `The CSV is malformed: row ${row} has ${count} columns where the first has ${width} (column ${partingColumn(count, width)} is where they part).`;
