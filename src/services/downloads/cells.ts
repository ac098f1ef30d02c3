// A stored cell as the typed value its column holds: the profiler's reading of a cell (null spellings, numbers, booleans, instants), repeated per value.
import type { Cell, ColumnProfile, ColumnType } from "../datasets/profile/types.ts";

/** Parquet's physical/logical pairing per profile type. */
export type ParquetKind = "INT64" | "DOUBLE" | "BOOLEAN" | "TIMESTAMP" | "STRING";

const INT64_MAX = 2 ** 63;
/** The profiler's "no value": "", null, na, n/a, nan, none in any case, with ASCII whitespace around, in at most 4 bytes (as isNullBytes reads it). */
const nullSpelling = /^[\t\n\v\f\r ]*(?:null|none|nan|n\/a|na)?[\t\n\v\f\r ]*$/i;

/** A text cell the profile counted as null. Only text cells: a JSON number or boolean never is. */
export const isNullText = (text: string) => text.length <= 4 && nullSpelling.test(text); // (the pattern is ASCII: 4 characters are 4 bytes)

/** The Parquet kind of a profiled column: integers out of INT64's range (possible in JSON) fall back to DOUBLE. */
export function parquetKind(column: Pick<ColumnProfile, "type" | "min" | "max">): ParquetKind {
  const kinds: Record<ColumnType, ParquetKind> = {
    integer: "INT64",
    number: "DOUBLE",
    boolean: "BOOLEAN",
    datetime: "TIMESTAMP",
    string: "STRING",
  };
  if (column.type !== "integer") return kinds[column.type];
  const inRange = (value: unknown) => typeof value !== "number" || (value >= -INT64_MAX && value < INT64_MAX);
  return inRange(column.min) && inRange(column.max) ? "INT64" : "DOUBLE";
}

/** Thrown when a cell does not read as its column's type (the profile said every value does). */
export class CellError extends Error {}

const text = (cell: Cell): string => (typeof cell === "string" ? cell : typeof cell === "object" ? JSON.stringify(cell) : String(cell));

/** The profiler's instant: a date alone is UTC midnight; "YYYY-MM-DD hh:mm" is read as "YYYY-MM-DDThh:mm" (UTC in a Worker, which has no local zone). */
const instant = (value: string) => Date.parse(value.length > 10 ? value.replace(" ", "T") : value);

/** Converts one cell (null when the profile counted it as a null) to what a Parquet column of `kind` holds. */
export function converter(kind: ParquetKind): (cell: Cell) => bigint | number | boolean | Date | string | null {
  const fail = (cell: Cell): never => {
    throw new CellError(`a ${kind} column holds ${JSON.stringify(cell)?.slice(0, 40)}`);
  };
  const typed =
    <T>(read: (cell: Cell) => T) =>
    (cell: Cell) =>
      cell === null || cell === undefined || (typeof cell === "string" && isNullText(cell)) ? null : read(cell);
  switch (kind) {
    case "INT64":
      return typed((cell) => {
        try {
          // Text as BigInt: exact past 2^53, where the profile's double is not.
          return typeof cell === "number" ? BigInt(cell) : BigInt(text(cell));
        } catch {
          return fail(cell);
        }
      });
    case "DOUBLE":
      return typed((cell) => {
        const value = typeof cell === "number" ? cell : Number(text(cell));
        return Number.isNaN(value) ? fail(cell) : value;
      });
    case "BOOLEAN":
      return typed((cell) => {
        if (typeof cell === "boolean") return cell;
        const word = text(cell).trim().toLowerCase();
        return word === "true" ? true : word === "false" ? false : fail(cell);
      });
    case "TIMESTAMP":
      return typed((cell) => {
        const at = instant(text(cell).trim());
        return Number.isNaN(at) ? fail(cell) : new Date(at);
      });
    case "STRING":
      return typed(text);
  }
}
