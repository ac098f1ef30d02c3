// Excel's dates: which number formats are dates, and a serial day number as the profiler's instant text.
import { instantText } from "./values.ts";

const DAY_MS = 86_400_000;
/** Built-in number formats that show dates or times (ECMA-376 §18.8.30, with the East Asian ones). */
const BUILT_IN_DATES = new Set([
  14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 45, 46, 47, 50, 51, 52, 53, 54, 55, 56, 57, 58,
]);

/** Whether a number format shows a date or time: a built-in one, or a format code with d, m, y, h or s outside quotes and brackets. */
export function isDateFormat(id: number, code: string | undefined): boolean {
  if (code === undefined) return BUILT_IN_DATES.has(id);
  const bare = code
    .replace(/"[^"]*"/g, "")
    .replace(/\\./g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/_.|\*./g, "");
  // Only the first section (positive numbers) decides; "General" and "@" have none of the letters.
  return /[dmyhs]/i.test(bare.split(";")[0] ?? "") && !/^general$/i.test(bare.trim());
}

/**
 * A serial day number as text: the 1900 system counts from 1899-12-31 with Lotus' phantom 1900-02-29 (serial 60), so serials from 61
 * count from 1899-12-30; the 1904 system from 1904-01-01. Under a day (a time alone) it is the time of day, as text.
 */
export function serialText(serial: number, date1904: boolean): string | null {
  if (!Number.isFinite(serial) || serial < 0) return null;
  if (serial < 1 && !date1904) {
    const ms = Math.round(serial * DAY_MS);
    return new Date(ms).toISOString().slice(11, ms % 1000 === 0 ? 19 : 23);
  }
  const base = date1904 ? Date.UTC(1904, 0, 1) : serial >= 61 ? Date.UTC(1899, 11, 30) : Date.UTC(1899, 11, 31);
  return instantText(base + Math.round(serial * DAY_MS));
}

/** An instant (ms since 1970) as a 1900-system serial day number, as a spreadsheet stores a date. */
export const serialOf = (ms: number) => ms / DAY_MS + 25_569;
