// Typed values from a binary format (Parquet, Excel) as the profiler's cells: instants as ISO text, big integers exact.
import type { Cell } from "../profile/types.ts";

const DAY_MS = 86_400_000;

/**
 * An instant as text the profiler reads as a datetime: a UTC midnight as its date alone (what a date column holds, and what a CSV
 * date becomes through a Parquet download and back), anything else in full ISO 8601.
 */
export function instantText(ms: number): string | null {
  if (!Number.isFinite(ms)) return null;
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return null;
  const iso = date.toISOString();
  return ms % DAY_MS === 0 ? iso.slice(0, 10) : iso;
}

/** A value that JSON can hold (nested lists and structs kept as objects, the profiler then counts them as text). */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (value instanceof Date) return instantText(value.getTime());
  if (value instanceof Uint8Array) return btoa(String.fromCharCode(...value.subarray(0, 4096)));
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value as ArrayLike<unknown>, plain);
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
  return value;
}

/**
 * One value as a cell: null, a number (an integer past 2^53 as its digits, so it stays exact), a boolean, text, an instant as
 * text (instantText), bytes as base64, and anything nested as a JSON-ready object.
 */
export function cellOf(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    default:
      return plain(value) as Cell;
  }
}
