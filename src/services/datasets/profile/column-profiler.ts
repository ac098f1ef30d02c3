// One column's streaming profile: type inference and statistics in bounded memory, one cell at a time.
//
// PERFORMANCE-CRITICAL: addBytes runs once for every cell of every upload. A value seen before costs one hash and
// one lookup; only new values are decoded and classified. Measure any change here with `BENCH_ONLY=upload npm run bench`
// (the upload's ratio to papaparse must stay at or above 1.0 and its heap peak under 64 MB), before and after.
import {
  CASE_BIT,
  Char,
  DATE_TIME,
  decimal,
  INTEGER,
  isBooleanBytes,
  isNullBytes,
  isSpace,
  NULL_MAX_BYTES,
  parseNumber,
  readDecimal,
} from "./cells.ts";
import { DistinctCounter, hashBytes, hashWords, Moments, Reservoir, type ReservoirSnapshot, TopValues } from "./sketches.ts";
import { fromBase64, fromNum, type Num, num, toBase64 } from "./snapshot.ts";
import { type Cell, type ColumnProfile, type ColumnType, Kind, NotUtf8Error } from "./types.ts";

/** The quantiles a profile gives (p5, p25, p50, p75, p95); the load job recomputes the same ones exactly. */
export const QUANTILE_POINTS = [0.05, 0.25, 0.5, 0.75, 0.95] as const;
/** Values longer than this many bytes are shortened (with …) for the top list and min/max. */
const SHORT = 200;
/** Values of at most this many bytes are held as three int32 words, compared without a loop (most cells are). */
const PACKED = 12;
/** Masks keeping the low 0…4 bytes of a little-endian word. */
const LOW_BYTES = [0, 0xff, 0xffff, 0xffffff, -1];
/** The shortest text that can be a date (YYYY-MM-DD), and where its first dash is. */
const DATE_LENGTH = 10;
const DATE_DASH = 4;

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Distinct values are budgeted across columns, so a file of 1,000 columns holds as many as one of
 * 32: each column counts up to 2,048 distinct values exactly (fewer when there are more than 32
 * columns, at least 64), with a cache of four times as many slots (so that few values share one).
 * The quantile sample is not budgeted: every column keeps up to 2,048 numbers (16 KB), whatever the
 * width. The distinct sketch has 2^14 registers (16 KB, ±0.8 %) up to 128 columns, 2^12 (4 KB, ±1.6 %) past that.
 */
const VALUE_BUDGET = 65_536;
const valuesPerColumn = (columns: number) => 2 ** Math.max(6, Math.min(11, Math.floor(Math.log2(VALUE_BUDGET / Math.max(1, columns)))));
export const QUANTILE_SAMPLE = 2_048;
const WIDE = 128;

/** A value the profiler has seen, remembered with what it is. */
interface Seen {
  count: number;
  /** How many of `count` the column's statistics hold: a repeat only counts, and settle() adds the rest in one step. */
  settled: number;
  kind: Kind;
  /** The number (Integer, Number) or epoch milliseconds (DateTime). */
  value: number;
  /** The value's bytes (only its first SHORT or so when `long`); a value of more than PACKED bytes is checked against them on every lookup. */
  key: Uint8Array;
  /** The value's length in bytes (as `key.length` for a short value, kept here so the hot path reads one object). */
  length: number;
  /** A value of at most PACKED bytes, packed (0 for longer ones): these and `length` are what a lookup checks. */
  w0: number;
  w1: number;
  w2: number;
  hash: number;
  long: boolean;
}

/** A Seen entry written out: [top key, count, settled, kind, value, key bytes, length, w0, w1, w2, hash, long]. */
type SeenSnapshot = [number, number, number, Kind, Num, string, number, number, number, number, number, boolean];

/** A column's whole state (see ColumnProfiler.snapshot). */
export interface ColumnSnapshot {
  name: string;
  /** The width its memory budget was set for. */
  columns: number;
  count: number;
  nulls: number;
  kinds: { integer: number; number: number; boolean: number; datetime: number };
  distinct: string;
  sketching: boolean;
  top: { entries: SeenSnapshot[]; evictions: number; unique: boolean };
  moments: [number, Num, Num];
  reservoir: ReservoirSnapshot;
  num: [Num, Num];
  date: [Num, Num];
  text: [string | null, boolean, string | null, boolean];
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

export class ColumnProfiler {
  private count = 0;
  private nulls = 0;
  /** How many non-null values fit each kind; the column's type is the narrowest that fits all. */
  private readonly kinds = { integer: 0, number: 0, boolean: 0, datetime: 0 };
  private readonly distinct: DistinctCounter;
  /** Until the top-values map overflows it holds every distinct value, so hashing for the sketch can wait till then. */
  private sketching = false;
  /** Values by the low 30 bits of their hash (small integers are the cheapest Map keys). */
  private readonly top: TopValues<number, Seen>;
  /** Entries by hash & mask (a direct-mapped cache): an array read is cheaper than a Map lookup. */
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
  private scratchView: DataView = new DataView(this.scratch.buffer);

  /** `columns`: how many the file has (so far), which sets this column's share of the memory budget. */
  constructor(
    readonly name: string,
    private readonly columns: number,
  ) {
    const values = valuesPerColumn(columns);
    this.top = new TopValues<number, Seen>(
      values,
      (entries) => this.startSketching(entries),
      () => this.dropping(),
    );
    this.slots = new Array<Seen | undefined>(4 * values).fill(undefined);
    this.mask = 4 * values - 1;
    this.reservoir = new Reservoir(QUANTILE_SAMPLE);
    this.distinct = new DistinctCounter(columns > WIDE ? 12 : 14);
  }

  /**
   * Everything this column has taken in, as JSON: restore() on a column made alike (name, width) goes on exactly as this
   * one would. The cache of slots is left out (it only holds entries of the map, which is kept in its order).
   */
  snapshot(): ColumnSnapshot {
    const key = (bytes: Uint8Array | null) => (bytes === null ? null : toBase64(bytes));
    return {
      name: this.name,
      columns: this.columns,
      count: this.count,
      nulls: this.nulls,
      kinds: { ...this.kinds },
      distinct: this.distinct.snapshot(),
      sketching: this.sketching,
      top: this.top.snapshot((at, e) => [
        at,
        e.count,
        e.settled,
        e.kind,
        num(e.value),
        toBase64(e.key),
        e.length,
        e.w0,
        e.w1,
        e.w2,
        e.hash,
        e.long,
      ]),
      moments: this.moments.snapshot(),
      reservoir: this.reservoir.snapshot(),
      num: [num(this.numMin), num(this.numMax)],
      date: [num(this.dateMin), num(this.dateMax)],
      text: [key(this.textMin), this.textMinLong, key(this.textMax), this.textMaxLong],
    };
  }

  /** A column as snapshot() wrote it. */
  static restored(snapshot: ColumnSnapshot): ColumnProfiler {
    const column = new ColumnProfiler(snapshot.name, snapshot.columns);
    column.count = snapshot.count;
    column.nulls = snapshot.nulls;
    Object.assign(column.kinds, snapshot.kinds);
    column.distinct.restore(snapshot.distinct);
    column.sketching = snapshot.sketching;
    const { entries, evictions, unique } = snapshot.top;
    column.top.restore(
      entries.map(([at, count, settled, kind, value, key, length, w0, w1, w2, hash, long]): [number, Seen] => [
        at,
        { count, settled, kind, value: fromNum(value), key: fromBase64(key), length, w0, w1, w2, hash, long },
      ]),
      evictions,
      unique,
    );
    column.moments.restore(snapshot.moments);
    column.reservoir.restore(snapshot.reservoir);
    [column.numMin, column.numMax] = snapshot.num.map(fromNum) as [number, number];
    [column.dateMin, column.dateMax] = snapshot.date.map(fromNum) as [number, number];
    const [min, minLong, max, maxLong] = snapshot.text;
    column.textMin = min === null ? null : fromBase64(min);
    column.textMinLong = minLong;
    column.textMax = max === null ? null : fromBase64(max);
    column.textMaxLong = maxLong;
    return column;
  }

  /** Rows that came before this column existed (a key first seen late in JSON): nulls. */
  skip(rows: number) {
    this.count += rows;
    this.nulls += rows;
  }

  /** The top-values map is about to drop entries: their repeats go into the statistics, and the cache goes. */
  private dropping() {
    this.settle();
    this.slots.fill(undefined);
  }

  /** Adds every held value's repeats to the statistics (kinds, moments, reservoir) at once: n at a time, not one by one. */
  private settle() {
    for (const [, seen] of this.top.all()) {
      if (seen.count > seen.settled) this.tally(seen.kind, seen.value, seen.count - seen.settled);
      seen.settled = seen.count;
    }
  }

  /** Once: a long value may start it before the map overflows, and the overflow must not add the entries again. */
  private startSketching(entries: Iterable<[number, Seen]>) {
    if (this.sketching) return;
    // The sketch's hash is of the bytes (a held short value's key is all of them): see addNew.
    for (const [, seen] of entries) this.distinct.addHash(hashBytes(seen.key, 0, seen.key.length));
    this.sketching = true;
  }

  /**
   * The hot path, once per cell: bytes start…end of `bytes`, UTF-8. A value seen before is one hash
   * and one lookup, which remembers what the value is; only new values are classified, and min/max
   * and the distinct sketch change only with them (a repeat cannot move either). `typed` is the
   * kind of a JSON number or boolean, which its text alone would not say.
   */
  addBytes(bytes: Uint8Array, view: DataView, start: number, end: number, typed?: Kind) {
    this.count++;
    const length = end - start;
    if (typed === undefined && length <= NULL_MAX_BYTES && isNullBytes(bytes, start, end)) {
      this.nulls++;
      return;
    }
    if (length > PACKED) return this.addLong(bytes, start, end, typed);
    // Up to 12 bytes as three little-endian words: equal words (and length) are equal bytes, so no byte compare and no byte-wise hash.
    let w0: number;
    let w1 = 0;
    let w2 = 0;
    if (start + PACKED <= bytes.length) {
      w0 = view.getInt32(start, true) & LOW_BYTES[length < 4 ? length : 4]!;
      if (length > 4) w1 = view.getInt32(start + 4, true) & LOW_BYTES[length < 8 ? length - 4 : 4]!;
      if (length > 8) w2 = view.getInt32(start + 8, true) & LOW_BYTES[length - 8]!;
    } else {
      // Near the end of the buffer, a byte at a time (the same words).
      w0 = 0;
      for (let i = start; i < end; i++) {
        const at = i - start;
        if (at < 4) w0 |= bytes[i]! << (8 * at);
        else if (at < 8) w1 |= bytes[i]! << (8 * (at - 4));
        else w2 |= bytes[i]! << (8 * (at - 8));
      }
    }
    const hash = hashWords(w0, w1, w2, length);
    if (this.top.unique) return this.addNew(bytes, start, end, end, hash, false, typed, w0, w1, w2);
    const seen = this.lookup(hash);
    if (seen !== undefined && seen.w0 === w0 && seen.w1 === w1 && seen.w2 === w2 && seen.length === length) {
      seen.count++; // the statistics catch up in settle()
      return;
    }
    // Another value under the same key (a hash collision) is classified every time, never admitted.
    this.addNew(bytes, start, end, end, hash, seen === undefined, typed, w0, w1, w2);
  }

  /** addBytes for a value of more than PACKED bytes: keyed by an FNV hash of its (kept) bytes, and checked against them. */
  private addLong(bytes: Uint8Array, start: number, end: number, typed?: Kind) {
    const long = end - start > SHORT;
    const keyEnd = long ? cut(bytes, start) : end;
    const hash = hashBytes(bytes, start, keyEnd);
    if (this.top.unique) return this.addNew(bytes, start, end, keyEnd, hash, false, typed, 0, 0, 0);
    const seen = this.lookup(hash);
    if (seen !== undefined && seen.long === long && same(bytes, start, keyEnd, seen.key)) {
      seen.count++;
      if (!long) return;
      // A long value shares its entry with others that start alike: counted there, but classified (and measured) itself.
      seen.settled++;
      return this.addNew(bytes, start, end, keyEnd, hash, false, typed, 0, 0, 0);
    }
    this.addNew(bytes, start, end, keyEnd, hash, seen === undefined, typed, 0, 0, 0);
  }

  /** The entry held under `hash`, if any (it may be another value's: the caller checks). */
  private lookup(hash: number): Seen | undefined {
    const slot = hash & this.mask;
    let seen = this.slots[slot];
    if (seen === undefined || seen.hash !== hash) {
      seen = this.top.get(hash & 0x3fffffff);
      if (seen !== undefined) this.slots[slot] = seen;
    }
    return seen;
  }

  /**
   * A value not in the top-values map: checked, classified, measured, and remembered if `admit`.
   * `keyEnd` is where a long value is cut (else `end`); `hash` is of start…keyEnd; w0…w2 are a short value packed.
   */
  private addNew(
    bytes: Uint8Array,
    start: number,
    end: number,
    keyEnd: number,
    hash: number,
    admit: boolean,
    typed: Kind | undefined,
    w0: number,
    w1: number,
    w2: number,
  ) {
    const long = keyEnd !== end;
    const kind = typed ?? (long ? Kind.Text : this.classify(bytes, start, end));
    // Only text can hold bytes that are not UTF-8: a number, date or boolean is made of ASCII (an invalid byte fails every pattern).
    if (kind === Kind.Text) {
      let ascii = true;
      for (let i = start; i < end && ascii; i++) ascii = bytes[i]! < 0x80;
      if (!ascii) {
        try {
          strict.decode(bytes.subarray(start, end));
        } catch {
          throw new NotUtf8Error("not UTF-8");
        }
      }
    }
    // A long value is listed shortened, which would make the exact count inexact: sketch from the start.
    if (long && !this.sketching) this.startSketching(this.top.all());
    // Not the lookup's hash: hashWords is cheap but structured (values alike in their words collide), which cost the
    // estimate 2-3 % on columns of numbers; a byte hash runs only for new values.
    if (this.sketching) this.distinct.addHash(hashBytes(bytes, start, end));
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
    if (admit)
      this.top.admit(hash & 0x3fffffff, {
        count: 1,
        settled: 1,
        kind,
        value,
        key: key ?? bytes.slice(start, keyEnd),
        length: end - start,
        w0,
        w1,
        w2,
        hash,
        long,
      });
    this.tally(kind, value, 1);
  }

  /** What a value is; a number or instant goes to `this.parsed`. Plain decimals are read from the bytes. */
  private classify(bytes: Uint8Array, start: number, end: number): Kind {
    if (isSpace(bytes[start]!) || isSpace(bytes[end - 1]!)) return this.classifyPadded(bytes, start, end);
    const first = bytes[start]!;
    const numeric = (first >= Char.Zero && first <= Char.Nine) || first === Char.Minus || first === Char.Plus || first === Char.Dot;
    if (!numeric) {
      const letter = first | CASE_BIT;
      return (letter === Char.t || letter === Char.f) && isBooleanBytes(bytes, start, end) ? Kind.Boolean : Kind.Text;
    }
    if (end - start >= DATE_LENGTH && bytes[start + DATE_DASH] === Char.Minus) {
      const text = lenient.decode(bytes.subarray(start, end));
      if (DATE_TIME.test(text)) {
        const at = Date.parse(text.length > DATE_LENGTH ? text.replace(" ", "T") : text);
        if (Number.isNaN(at)) return Kind.Text;
        this.parsed = at;
        return Kind.DateTime;
      }
    }
    // [-+]digits[.digits], at most 15 digits: exact as a double, so m / 10^k is Number()'s answer.
    if (readDecimal(bytes, start, end)) {
      this.parsed = decimal.value;
      return decimal.fraction ? Kind.Number : Kind.Integer;
    }
    // Anything else (an exponent, many digits): plain decimal notation only, not "0x1f" or " 12 ".
    const text = lenient.decode(bytes.subarray(start, end));
    const value = parseNumber(text);
    if (value === null) return Kind.Text;
    this.parsed = value;
    return Number.isInteger(value) && INTEGER.test(text) ? Kind.Integer : Kind.Number;
  }

  /** A value with whitespace around: a number when what is inside is one (" .01138", as DuckDB reads it), else text. */
  private classifyPadded(bytes: Uint8Array, start: number, end: number): Kind {
    while (start < end && isSpace(bytes[start]!)) start++;
    while (end > start && isSpace(bytes[end - 1]!)) end--;
    if (start === end) return Kind.Text;
    const kind = this.classify(bytes, start, end);
    return kind === Kind.Integer || kind === Kind.Number ? kind : Kind.Text;
  }

  /** Counts `times` occurrences of a classified value. */
  private tally(kind: Kind, value: number, times: number) {
    switch (kind) {
      case Kind.Integer:
        this.kinds.integer += times;
        this.kinds.number += times;
        this.moments.add(value, times);
        this.reservoir.add(value, times);
        break;
      case Kind.Number:
        this.kinds.number += times;
        this.moments.add(value, times);
        this.reservoir.add(value, times);
        break;
      case Kind.Boolean:
        this.kinds.boolean += times;
        break;
      case Kind.DateTime:
        this.kinds.datetime += times;
        break;
    }
  }

  /** A JSON value: text as its UTF-8 bytes; numbers and booleans by their text, but typed by what they are (or as `kind` says). */
  add(cell: Cell, kind?: Kind) {
    if (cell === null || cell === undefined) {
      this.count++;
      this.nulls++;
      return;
    }
    const text = typeof cell === "string" ? cell : typeof cell === "object" ? JSON.stringify(cell) : String(cell);
    if (this.scratch.length < text.length * 3) {
      this.scratch = new Uint8Array(text.length * 3);
      this.scratchView = new DataView(this.scratch.buffer);
    }
    const { written } = encoder.encodeInto(text, this.scratch);
    let typed: Kind | undefined;
    if (typeof cell === "number") typed = Number.isInteger(cell) ? Kind.Integer : Kind.Number;
    else if (typeof cell === "boolean") typed = Kind.Boolean;
    else if (typeof cell === "object") typed = Kind.Text;
    if (kind !== undefined) typed = kind;
    if (typeof cell === "number") this.parsed = cell;
    this.addBytes(this.scratch, this.scratchView, 0, written, typed);
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
    this.settle();
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
      quantiles: numeric ? this.reservoir.quantiles(QUANTILE_POINTS) : null,
      // An all-distinct column has no frequent values worth listing.
      topValues: this.top.unique ? [] : this.top.top(10).map(({ entry }) => ({ value: shown(entry.key, entry.long), count: entry.count })),
      approximate: { distinct: this.sketching, quantiles: numeric && this.reservoir.sampled },
    };
  }
}
