// Cells to SQLite values by the profile's column type: the same reading of a value the profiler gave it, so a column holds one type.
import type { Cell, ColumnType } from "../../services/datasets/profile/types.ts";

export type SqlValue = string | number | null;

export interface StoreColumn {
  name: string;
  type: ColumnType;
}

/** A load that cannot succeed however often it is tried (bad bytes, a file gone): the dataset fails at once. */
export class LoadError extends Error {}

/** The profiler's null spellings ("", null, na, n/a, nan, none, any case, ASCII space around), in at most 4 bytes as it checks them. */
const nullPattern = /^[\t\n\v\f\r ]*(?:null|na|n\/a|nan|none)?[\t\n\v\f\r ]*$/i;
const datePattern = /^\d{4}-\d{2}-\d{2}/;
const integerText = /^[-+]?\d+$/;

/** Whether the profiler counted this text as a null (it checks values of at most 4 bytes; these spellings are ASCII). */
export const isNullText = (text: string) => text.length <= 4 && nullPattern.test(text);

/** SQLite's quoting of an identifier: "name", with " doubled. */
export const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

const SQL_TYPES: Record<ColumnType, string> = { integer: "INTEGER", number: "REAL", boolean: "INTEGER", datetime: "TEXT", string: "TEXT" };
export const sqlType = (type: ColumnType) => SQL_TYPES[type];

const where = (row: number, column: string) => `Row ${row}, column ${JSON.stringify(column)},`;

/**
 * One cell as its column's SQLite value: integer and number as numbers (an integer past 2^53 as its
 * digits, which INTEGER affinity stores exactly), boolean as 0/1, datetime as ISO-8601 UTC text (read
 * as the profiler reads it: Date.parse, a space before the time taken as T), string as text.
 * Throws LoadError for a value the type cannot hold (the profile said every value fits).
 */
export function toSqlValue(cell: Cell, type: ColumnType, row: number, column: string): SqlValue {
  if (cell === null || cell === undefined) return null;
  if (typeof cell === "string") {
    if (isNullText(cell)) return null;
    return fromText(cell, type, row, column);
  }
  if (typeof cell === "number") {
    if (type === "integer" || type === "number") return cell;
    if (type === "string") return String(cell);
  } else if (typeof cell === "boolean") {
    if (type === "boolean") return cell ? 1 : 0;
    if (type === "string") return String(cell);
  } else if (type === "string") {
    return JSON.stringify(cell);
  }
  throw new LoadError(`${where(row, column)} holds ${JSON.stringify(cell)}, which is not a ${type} as the profile says.`);
}

function fromText(text: string, type: ColumnType, row: number, column: string): SqlValue {
  switch (type) {
    case "string":
      return text;
    case "integer":
    case "number": {
      const trimmed = text.trim();
      const value = Number(trimmed);
      if (trimmed !== "" && Number.isFinite(value)) {
        if (type === "integer" && !Number.isSafeInteger(value) && integerText.test(trimmed)) return trimmed.replace(/^\+/, "");
        return value;
      }
      break;
    }
    case "boolean": {
      const lower = text.toLowerCase();
      if (lower === "true") return 1;
      if (lower === "false") return 0;
      break;
    }
    case "datetime": {
      if (!datePattern.test(text)) break;
      const at = Date.parse(text.length > 10 ? text.replace(" ", "T") : text);
      if (!Number.isNaN(at)) return new Date(at).toISOString();
      break;
    }
  }
  throw new LoadError(`${where(row, column)} holds ${JSON.stringify(text.slice(0, 100))}, which is not a ${type} as the profile says.`);
}
