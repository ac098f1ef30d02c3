// The streaming profiler: one row at a time, per-column type inference and statistics in bounded memory.
// Cells arrive as UTF-8 byte spans (CSV, straight from the scanner) or as JSON values; both meet in
// addBytes, where a value seen before costs one hash and one lookup, and only new values are decoded.
import { ESCAPED, unescapeCell } from "./csv-scanner.ts";
import { DistinctCounter, hashBytes, Moments, Reservoir, TopValues } from "./sketches.ts";

export type ColumnType = "integer" | "number" | "boolean" | "datetime" | "string";
export type Cell = string | number | boolean | null | undefined | object;

export interface ColumnProfile {
  name: string;
  type: ColumnType;
  count: number;
  nulls: number;
  distinct: number;
  min: number | string | boolean | null;
  max: number | string | boolean | null;
  mean: number | null;
  stddev: number | null;
  quantiles: Record<string, number> | null;
  topValues: { value: string; count: number }[];
}

export interface Profile {
  rowCount: number;
  columns: ColumnProfile[];
}

/** Thrown for a cell that is not valid UTF-8 (the upload answers NOT_UTF8). */
export class NotUtf8Error extends Error {}

const nullTokens = new Set(["", "null", "na", "n/a", "nan", "none"]);
const integerPattern = /^[-+]?\d+$/;
const datePattern = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[-+]\d{2}:?\d{2})?)?$/;
const quantilePoints = [0.05, 0.25, 0.5, 0.75, 0.95];
/** Values longer than this many bytes are shortened (with …) for the top list and min/max. */
const SHORT = 200;
/** Powers of ten that doubles hold exactly: m / 10^k is then correctly rounded, as Number() would give. */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Memory is budgeted across columns, so a file of 1,000 columns costs what one of 32 does: each
 * column holds up to 2,048 values (fewer when there are more than 32 columns, at least 64), a
 * cache of four times as many slots (so that few values share one), and a reservoir of as many numbers (at least 256).
 */
const VALUE_BUDGET = 65_536;
const valuesPerColumn = (columns: number) => 2 ** Math.max(6, Math.min(11, Math.floor(Math.log2(VALUE_BUDGET / Math.max(1, columns)))));

/** What a value is, worked out once per distinct value. */
const enum Kind {
  Integer,
  Number,
  Boolean,
  DateTime,
  Text,
}

/** A value the profiler has seen, remembered with what it is. */
interface Seen {
  count: number;
  kind: Kind;
  /** The number (Integer, Number) or epoch milliseconds (DateTime). */
  value: number;
  /** The value's bytes (only its first SHORT or so when `long`), checked on every lookup: keys are hashes. */
  key: Uint8Array;
  hash: number;
  long: boolean;
}

/** Bytes start…end of `a` equal all of `b`. */
function same(a: Uint8Array, start: number, end: number, b: Uint8Array): boolean {
  if (end - start !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[start + i] !== b[i]) return false;
  return true;
}

/** Byte order (UTF-8's is code point order) of bytes start…end of `a` against `b`. */
function compare(a: Uint8Array, start: number, end: number, b: Uint8Array): number {
  const length = Math.min(end - start, b.length);
  for (let i = 0; i < length; i++) if (a[start + i] !== b[i]) return a[start + i]! - b[i]!;
  return end - start - b.length;
}

/** Where a long value is cut for display: SHORT bytes in, moved back to the start of a character. */
function cut(bytes: Uint8Array, start: number): number {
  let at = start + SHORT;
  while (at > start && (bytes[at]! & 0xc0) === 0x80) at--;
  return at;
}

/** A kept value's bytes as text, with … where it was cut. */
const shown = (key: Uint8Array, long: boolean) => `${lenient.decode(key)}${long ? "…" : ""}`;

/** The usual spellings of "no value", for a value of at most 4 bytes (all but the empty one start with n after trimming). */
function isNullBytes(bytes: Uint8Array, start: number, end: number): boolean {
  if (end === start) return true;
  const first = bytes[start]!;
  return (first === 110 || first === 78 || first <= 32) && nullTokens.has(lenient.decode(bytes.subarray(start, end)).trim().toLowerCase());
}

/** "true" or "false" in any case. */
function isBoolean(bytes: Uint8Array, start: number, end: number): boolean {
  const word = end - start === 4 ? "true" : end - start === 5 ? "false" : "";
  for (let i = 0; i < word.length; i++) if ((bytes[start + i]! | 0x20) !== word.charCodeAt(i)) return false;
  return word.length > 0;
}

class ColumnProfiler {
  private count = 0;
  private nulls = 0;
  /** How many non-null values fit each kind; the column's type is the narrowest that fits all. */
  private readonly kinds = { integer: 0, number: 0, boolean: 0, datetime: 0 };
  private readonly distinct = new DistinctCounter();
  /** Until the top-values map overflows it holds every distinct value, so hashing for the sketch can wait till then. */
  private sketching = false;
  /** Values by the low 30 bits of their hash (small integers are the cheapest Map keys). */
  private readonly top: TopValues<number, Seen>;
  /** Entries by hash & mask (a direct-mapped cache): an array read is cheaper than a Map lookup, the hot path's main cost. */
  private readonly slots: (Seen | undefined)[];
  private readonly mask: number;
  private readonly moments = new Moments();
  private readonly reservoir: Reservoir;
  private numMin = Infinity;
  private numMax = -Infinity;
  private dateMin = Infinity;
  private dateMax = -Infinity;
  /** Text min and max (in byte order, which is code point order), as kept: cut when long. */
  private textMin: Uint8Array | null = null;
  private textMax: Uint8Array | null = null;
  private textMinLong = false;
  private textMaxLong = false;
  /** classify()'s number, handed back beside its Kind (no object per value). */
  private parsed = 0;
  /** Where JSON strings are encoded on their way to addBytes. */
  private scratch = new Uint8Array(256);

  /** `columns`: how many the file has (so far), which sets this column's share of the memory budget. */
  constructor(
    readonly name: string,
    columns: number,
  ) {
    const values = valuesPerColumn(columns);
    this.top = new TopValues<number, Seen>(
      values,
      (entries) => this.startSketching(entries),
      () => this.slots.fill(undefined),
    );
    this.slots = new Array<Seen | undefined>(4 * values).fill(undefined);
    this.mask = 4 * values - 1;
    this.reservoir = new Reservoir(Math.max(256, values));
  }

  /** Rows that came before this column existed (a key first seen late in JSON): nulls. */
  skip(rows: number) {
    this.count += rows;
    this.nulls += rows;
  }

  /** Once: a long value may start it before the map overflows, and the overflow must not add the entries again. */
  private startSketching(entries: Iterable<[number, Seen]>) {
    if (this.sketching) return;
    for (const [, seen] of entries) this.distinct.addHash(seen.hash);
    this.sketching = true;
  }

  /**
   * The hot path, once per cell: bytes start…end of `bytes`, UTF-8. A value seen before is one hash
   * and one lookup, which remembers what the value is; only new values are classified, and min/max
   * and the distinct sketch change only with them (a repeat cannot move either). `typed` is the
   * kind of a JSON number or boolean, which its text alone would not say.
   */
  addBytes(bytes: Uint8Array, start: number, end: number, typed?: Kind) {
    this.count++;
    const length = end - start;
    if (typed === undefined && length <= 4 && isNullBytes(bytes, start, end)) {
      this.nulls++;
      return;
    }
    const long = length > SHORT;
    const keyEnd = long ? cut(bytes, start) : end;
    const hash = hashBytes(bytes, start, keyEnd);
    if (this.top.unique) return this.addNew(bytes, start, end, keyEnd, hash, false, typed);
    const slot = hash & this.mask;
    let seen = this.slots[slot];
    if (seen === undefined || seen.hash !== hash) {
      seen = this.top.get(hash & 0x3fffffff);
      if (seen !== undefined) this.slots[slot] = seen;
    }
    if (seen !== undefined && seen.long === long && same(bytes, start, keyEnd, seen.key)) {
      seen.count++;
      // A long value shares its entry with others that start alike: counted there, but classified itself.
      if (!long) return this.tally(seen.kind, seen.value);
      return this.addNew(bytes, start, end, keyEnd, hash, false, typed);
    }
    // Another value under the same key (a hash collision) is classified every time, never admitted.
    this.addNew(bytes, start, end, keyEnd, hash, seen === undefined, typed);
  }

  /**
   * A value not in the top-values map: checked, classified, measured, and remembered if `admit`.
   * `keyEnd` is where a long value is cut (else `end`); `hash` is of start…keyEnd.
   */
  private addNew(bytes: Uint8Array, start: number, end: number, keyEnd: number, hash: number, admit: boolean, typed?: Kind) {
    const long = keyEnd !== end;
    let ascii = true;
    for (let i = start; i < end && ascii; i++) ascii = bytes[i]! < 0x80;
    if (!ascii) {
      try {
        strict.decode(bytes.subarray(start, end));
      } catch {
        throw new NotUtf8Error("not UTF-8");
      }
    }
    // A long value is listed shortened, which would make the exact count inexact: sketch from the start.
    if (long && !this.sketching) this.startSketching(this.top.all());
    if (this.sketching) this.distinct.addHash(long ? hashBytes(bytes, start, end) : hash);
    const kind = typed ?? (long ? Kind.Text : this.classify(bytes, start, end));
    const value = this.parsed;
    // The kept bytes, copied only if something keeps them (no closure here: the bundle names every one, at a cost per call).
    let key: Uint8Array | null = null;
    if (kind === Kind.Integer || kind === Kind.Number) {
      if (value < this.numMin) this.numMin = value;
      if (value > this.numMax) this.numMax = value;
    } else if (kind === Kind.DateTime) {
      if (value < this.dateMin) this.dateMin = value;
      if (value > this.dateMax) this.dateMax = value;
    }
    if (this.textMin === null || compare(bytes, start, keyEnd, this.textMin) < 0) {
      this.textMin = key ??= bytes.slice(start, keyEnd);
      this.textMinLong = long;
    }
    if (this.textMax === null || compare(bytes, start, keyEnd, this.textMax) > 0) {
      this.textMax = key ??= bytes.slice(start, keyEnd);
      this.textMaxLong = long;
    }
    if (admit) this.top.admit(hash & 0x3fffffff, { count: 1, kind, value, key: key ?? bytes.slice(start, keyEnd), hash, long });
    this.tally(kind, value);
  }

  /** What a value is; a number or instant goes to `this.parsed`. Plain decimals are read from the bytes. */
  private classify(bytes: Uint8Array, start: number, end: number): Kind {
    const first = bytes[start]!;
    const numeric = (first >= 48 && first <= 57) || first === 45 || first === 43 || first === 46; // digit - + .
    if (!numeric) return (first | 0x20) === 116 || (first | 0x20) === 102 ? (isBoolean(bytes, start, end) ? Kind.Boolean : Kind.Text) : Kind.Text;
    if (end - start >= 10 && bytes[start + 4] === 45) {
      const text = lenient.decode(bytes.subarray(start, end));
      if (datePattern.test(text)) {
        const at = Date.parse(text.length > 10 ? text.replace(" ", "T") : text);
        if (Number.isNaN(at)) return Kind.Text;
        this.parsed = at;
        return Kind.DateTime;
      }
    }
    // [-+]digits[.digits], at most 15 digits: exact as a double, so m / 10^k is Number()'s answer.
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
      else break;
    }
    if (i === end && digits > 0 && digits <= 15) {
      const value = point < 0 ? mantissa : mantissa / POW10[digits - point]!;
      this.parsed = first === 45 ? -value : value;
      return point < 0 ? Kind.Integer : Kind.Number;
    }
    // Anything else (an exponent, many digits): Number(), but only plain decimal notation counts, not "0x1f" or " 12 ".
    const text = lenient.decode(bytes.subarray(start, end));
    const value = Number(text);
    const second = text.charCodeAt(1);
    const plain = second !== 120 && second !== 98 && second !== 111 && text.charCodeAt(text.length - 1) > 32;
    if (!Number.isFinite(value) || !plain) return Kind.Text;
    this.parsed = value;
    return Number.isInteger(value) && integerPattern.test(text) ? Kind.Integer : Kind.Number;
  }

  /** Counts one occurrence of a classified value. */
  private tally(kind: Kind, value: number) {
    switch (kind) {
      case Kind.Integer:
        this.kinds.integer++;
        this.kinds.number++;
        this.moments.add(value);
        this.reservoir.add(value);
        break;
      case Kind.Number:
        this.kinds.number++;
        this.moments.add(value);
        this.reservoir.add(value);
        break;
      case Kind.Boolean:
        this.kinds.boolean++;
        break;
      case Kind.DateTime:
        this.kinds.datetime++;
        break;
    }
  }

  /** A JSON value: text as its UTF-8 bytes; numbers and booleans by their text, but typed by what they are. */
  add(cell: Cell) {
    if (cell === null || cell === undefined) {
      this.count++;
      this.nulls++;
      return;
    }
    const text = typeof cell === "string" ? cell : typeof cell === "object" ? JSON.stringify(cell) : String(cell);
    if (this.scratch.length < text.length * 3) this.scratch = new Uint8Array(text.length * 3);
    const { written } = encoder.encodeInto(text, this.scratch);
    let typed: Kind | undefined;
    if (typeof cell === "number") typed = Number.isInteger(cell) ? Kind.Integer : Kind.Number;
    else if (typeof cell === "boolean") typed = Kind.Boolean;
    else if (typeof cell === "object") typed = Kind.Text;
    if (typeof cell === "number") this.parsed = cell;
    this.addBytes(this.scratch, 0, written, typed);
  }

  private type(): ColumnType {
    const present = this.count - this.nulls;
    if (present === 0) return "string";
    if (this.kinds.integer === present) return "integer";
    if (this.kinds.number === present) return "number";
    if (this.kinds.boolean === present) return "boolean";
    if (this.kinds.datetime === present) return "datetime";
    return "string";
  }

  result(): ColumnProfile {
    const type = this.type();
    const numeric = type === "integer" || type === "number";
    const moments = numeric ? this.moments.result() : null;
    const [min, max] = numeric
      ? [this.numMin, this.numMax]
      : type === "datetime"
        ? [new Date(this.dateMin).toISOString(), new Date(this.dateMax).toISOString()]
        : type === "boolean"
          ? [null, null]
          : [this.textMin && shown(this.textMin, this.textMinLong), this.textMax && shown(this.textMax, this.textMaxLong)];
    return {
      name: this.name,
      type,
      count: this.count,
      nulls: this.nulls,
      distinct: this.sketching ? Math.min(this.distinct.estimate(), this.count - this.nulls) : this.top.size,
      min: this.count === this.nulls ? null : min,
      max: this.count === this.nulls ? null : max,
      mean: moments?.mean ?? null,
      stddev: moments?.stddev ?? null,
      quantiles: numeric ? this.reservoir.quantiles(quantilePoints) : null,
      // An all-distinct column has no frequent values worth listing.
      topValues: this.top.unique ? [] : this.top.top(10).map(({ entry }) => ({ value: shown(entry.key, entry.long), count: entry.count })),
    };
  }
}

/**
 * Profiles rows in the order of `names` (which may grow as JSON brings new keys): JSON rows as
 * arrays of values, CSV records as the scanner's byte spans.
 */
export class Profiler {
  private readonly columns: ColumnProfiler[] = [];
  private unescaped: Uint8Array = new Uint8Array(256);
  rowCount = 0;

  constructor(private readonly names: readonly string[]) {}

  private grow() {
    while (this.columns.length < this.names.length) {
      const column = new ColumnProfiler(this.names[this.columns.length]!, this.names.length);
      column.skip(this.rowCount);
      this.columns.push(column);
    }
  }

  add(row: Cell[]) {
    this.grow();
    this.rowCount++;
    for (let i = 0; i < this.columns.length; i++) this.columns[i]!.add(row[i]);
  }

  /** A CSV record: cell i spans bytes[cells[3i]]…bytes[cells[3i + 1]] (see CsvScanner). */
  addRecord(bytes: Uint8Array, cells: Int32Array) {
    this.grow();
    this.rowCount++;
    for (let i = 0; i < this.columns.length; i++) {
      const start = cells[3 * i]!;
      const end = cells[3 * i + 1]!;
      if (cells[3 * i + 2] === ESCAPED) {
        const [unescaped, length] = unescapeCell(bytes, start, end, this.unescaped);
        this.unescaped = unescaped;
        this.columns[i]!.addBytes(unescaped, 0, length);
      } else this.columns[i]!.addBytes(bytes, start, end);
    }
  }

  result(): Profile {
    return { rowCount: this.rowCount, columns: this.columns.map((column) => column.result()) };
  }
}
