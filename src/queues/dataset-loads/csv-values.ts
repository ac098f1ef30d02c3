// CSV cells to SQLite values straight from their bytes: numbers and booleans without making a string, text decoded
// cheaply when ASCII, instants parsed once per distinct value. Anything unusual goes the general way (values.ts).
import { isNullText, type SqlValue, toSqlValue } from "./values.ts";
import type { ColumnType } from "../../services/datasets/profile/types.ts";

const decoder = new TextDecoder();
/** Powers of ten that doubles hold exactly: m / 10^k is then correctly rounded, as Number() would give. */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);
/** Instants already converted, per column (dates repeat a lot); bounded so a column of unique instants cannot grow it. */
const INSTANT_CACHE = 4_096;

/**
 * Bytes start…end as text: a short ASCII cell by String.fromCharCode over the bytes (one string made, where adding a character at a
 * time made one per character: measured as a large share of the load's garbage), anything else by TextDecoder.
 */
export function cellText(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let i = start;
    while (i < end && bytes[i]! < 0x80) i++;
    if (i === end) return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  return decoder.decode(bytes.subarray(start, end));
}

const isSpace = (byte: number) => byte === 32 || (byte >= 9 && byte <= 13);

/** [-+]digits[.digits] of at most 15 digits, read as the profiler reads it; NaN for anything else. */
function plainNumber(bytes: Uint8Array, start: number, end: number): number {
  const first = bytes[start]!;
  let i = start + (first === 45 || first === 43 ? 1 : 0);
  let mantissa = 0;
  let digits = 0;
  let point = -1;
  for (; i < end; i++) {
    const byte = bytes[i]!;
    if (byte >= 48 && byte <= 57) {
      mantissa = mantissa * 10 + (byte - 48);
      digits++;
    } else if (byte === 46 && point < 0) point = digits;
    else return Number.NaN;
  }
  if (digits === 0 || digits > 15) return Number.NaN;
  const value = point < 0 ? mantissa : mantissa / POW10[digits - point]!;
  return first === 45 ? -value : value;
}

/** YYYY-MM-DD at `start` as the number YYYYMMDD, or -1 when the bytes are not of that shape. */
function plainDate(bytes: Uint8Array, start: number): number {
  if (bytes[start + 4] !== 45 || bytes[start + 7] !== 45) return -1;
  let value = 0;
  for (let i = start; i < start + 10; i++) {
    if (i === start + 4 || i === start + 7) continue;
    const digit = bytes[i]! - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** Converts one column's cells; keeps that column's instant cache. */
export class CsvColumn {
  private readonly instants = new Map<string, SqlValue>();
  private readonly days = new Map<number, SqlValue>();

  constructor(
    readonly name: string,
    readonly type: ColumnType,
  ) {}

  value(bytes: Uint8Array, start: number, end: number, row: number): SqlValue {
    const length = end - start;
    if (length === 0) return null;
    const first = bytes[start]!;
    // Every null spelling starts with a space or n, and is at most 4 bytes.
    if (length <= 4 && (isSpace(first) || (first | 0x20) === 110) && isNullText(cellText(bytes, start, end))) return null;
    switch (this.type) {
      case "integer":
      case "number": {
        const value = plainNumber(bytes, start, end);
        if (!Number.isNaN(value)) return value;
        break;
      }
      case "boolean":
        if (length === 4 && (first | 0x20) === 116) return 1; // the profile says every value is true or false: t… is true
        if (length === 5 && (first | 0x20) === 102) return 0;
        break;
      case "datetime": {
        // A plain date (YYYY-MM-DD) is looked up by its digits as a number: no string made for a date already seen.
        const day = length === 10 ? plainDate(bytes, start) : -1;
        if (day >= 0) {
          const known = this.days.get(day);
          if (known !== undefined) return known;
        }
        const text = cellText(bytes, start, end);
        if (day >= 0) {
          const value = toSqlValue(text, "datetime", row, this.name);
          if (this.days.size < INSTANT_CACHE) this.days.set(day, value);
          return value;
        }
        let value = this.instants.get(text);
        if (value === undefined) {
          value = toSqlValue(text, "datetime", row, this.name);
          if (this.instants.size < INSTANT_CACHE) this.instants.set(text, value);
        }
        return value;
      }
      case "string":
        return cellText(bytes, start, end);
    }
    return toSqlValue(cellText(bytes, start, end), this.type, row, this.name);
  }
}
