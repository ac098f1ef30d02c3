// What a cell is: the rules for nulls, numbers, booleans and instants, read from UTF-8 bytes (the upload's hot path) or from
// text (the statistical engine). One set of rules, so a value is the same thing wherever it is read.

/** Character codes the byte readers test (ASCII: a UTF-8 byte below 0x80 is that character). */
export const Char = {
  Tab: 9,
  CarriageReturn: 13,
  Space: 32,
  Plus: 43,
  Minus: 45,
  Dot: 46,
  Slash: 47,
  Zero: 48,
  Nine: 57,
  /** Lower-case letters; `byte | CASE_BIT` folds an upper-case ASCII letter to lower case. */
  a: 97,
  e: 101,
  f: 102,
  l: 108,
  n: 110,
  o: 111,
  t: 116,
  u: 117,
} as const;
export const CASE_BIT = 0x20;

/** The spellings of "no value", compared trimmed and in lower case. */
export const NULL_SPELLINGS = ["", "null", "na", "n/a", "nan", "none"] as const;
const nullSpellings: ReadonlySet<string> = new Set(NULL_SPELLINGS);
/** The longest null spelling, in bytes: longer cells are never null (whatever whitespace surrounds them). */
export const NULL_MAX_BYTES = 4;

/** Plain decimal notation, with an optional exponent ("0x1f", "1,5" and "Infinity" are not numbers); tested on trimmed text. */
export const PLAIN_NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
export const INTEGER = /^[-+]?\d+$/;
/** A date, optionally with a time and a zone. */
export const DATE_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[-+]\d{2}:?\d{2})?)?$/;

/** ASCII whitespace (space, tab, line breaks, vertical tab, form feed). */
export const isSpace = (byte: number) => byte === Char.Space || (byte >= Char.Tab && byte <= Char.CarriageReturn);
export const isDigit = (byte: number) => byte >= Char.Zero && byte <= Char.Nine;
const lower = (byte: number) => byte | CASE_BIT;

/** Whether text (a CSV cell, a JSON string) spells "no value". */
export const isNullText = (text: string) => text.length <= NULL_MAX_BYTES && nullSpellings.has(text.trim().toLowerCase());

/**
 * isNullText read from bytes start…end (called for cells of at most NULL_MAX_BYTES; as it runs for
 * most short cells, the usual case, a first byte that is neither whitespace nor n, answers at once).
 */
export function isNullBytes(bytes: Uint8Array, start: number, end: number): boolean {
  if (end > start && bytes[start]! > Char.Space && lower(bytes[start]!) !== Char.n) return false;
  while (start < end && isSpace(bytes[start]!)) start++;
  while (end > start && isSpace(bytes[end - 1]!)) end--;
  const length = end - start;
  if (length === 0) return true;
  if (length === 1 || lower(bytes[start]!) !== Char.n) return false;
  const b1 = lower(bytes[start + 1]!);
  if (length === 2) return b1 === Char.a; // na
  const b2 = lower(bytes[start + 2]!);
  if (length === 3) return (b1 === Char.a && b2 === Char.n) || (b1 === Char.Slash && b2 === Char.a); // nan, n/a
  const b3 = lower(bytes[start + 3]!);
  return (b1 === Char.u && b2 === Char.l && b3 === Char.l) || (b1 === Char.o && b2 === Char.n && b3 === Char.e); // null, none
}

/** "true" or "false" in any case. */
export function isBooleanBytes(bytes: Uint8Array, start: number, end: number): boolean {
  const word = end - start === 4 ? "true" : end - start === 5 ? "false" : "";
  for (let i = 0; i < word.length; i++) if (lower(bytes[start + i]!) !== word.charCodeAt(i)) return false;
  return word.length > 0;
}

/** Powers of ten that doubles hold exactly: m / 10^k is then correctly rounded, as Number() would give. */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);
/** Digits a double holds exactly, so the byte reader's m / 10^k needs no fallback. */
export const EXACT_DIGITS = 15;

/** readDecimal's answer (one object for every call: the hot path makes none per value). */
export const decimal = { value: 0, fraction: false };

/**
 * [-+]digits[.digits] of at most EXACT_DIGITS digits, read from the bytes into `decimal`; false for
 * anything else (an exponent, more digits, whitespace: the caller then falls back to Number() over the text).
 */
export function readDecimal(bytes: Uint8Array, start: number, end: number): boolean {
  const first = bytes[start]!;
  let i = start + (first === Char.Minus || first === Char.Plus ? 1 : 0);
  let mantissa = 0;
  let digits = 0;
  let point = -1;
  for (; i < end; i++) {
    const byte = bytes[i]!;
    if (isDigit(byte)) {
      mantissa = mantissa * 10 + (byte - Char.Zero);
      digits++;
    } else if (byte === Char.Dot && point < 0) point = digits;
    else return false;
  }
  if (digits === 0 || digits > EXACT_DIGITS) return false;
  const value = point < 0 ? mantissa : mantissa / POW10[digits - point]!;
  decimal.value = first === Char.Minus ? -value : value;
  decimal.fraction = point >= 0;
  return true;
}

/** Text without ASCII whitespace around (String.trim would take Unicode spaces too, which the byte readers keep). */
export const trimAscii = (text: string) => text.replace(/^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g, "");

/** A number in plain decimal notation, ASCII whitespace around allowed (" .01138"), or null. */
export function parseNumber(text: string): number | null {
  const trimmed = trimAscii(text);
  if (!PLAIN_NUMBER.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : null;
}

/**
 * A date or ISO 8601 instant as epoch milliseconds, or null. A time without a zone is UTC (Date.parse
 * would read it in the host's zone), so results never depend on the host.
 */
export function parseInstant(text: string): number | null {
  if (text.length < 10 || !DATE_TIME.test(text)) return null;
  let iso = text.replace(" ", "T");
  if (iso.length > 10) {
    const zone = /(Z|([-+]\d{2}):?(\d{2}))$/.exec(iso.slice(10));
    if (!zone) iso += "Z";
    else if (zone[1] !== "Z") iso = `${iso.slice(0, iso.length - zone[0].length)}${zone[2]}:${zone[3]}`;
  }
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : at;
}
