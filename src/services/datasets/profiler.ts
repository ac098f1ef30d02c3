// The streaming profiler: one row at a time, per-column type inference and statistics in bounded memory.
import { DistinctCounter, Moments, Reservoir, TopValues } from "./sketches.ts";

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

const nullTokens = new Set(["", "null", "na", "n/a", "nan", "none"]);
const integerPattern = /^[-+]?\d+$/;
const datePattern = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[-+]\d{2}:?\d{2})?)?$/;
const quantilePoints = [0.05, 0.25, 0.5, 0.75, 0.95];

class ColumnProfiler {
  private count = 0;
  private nulls = 0;
  /** How many non-null values fit each kind; the column's type is the narrowest that fits all. */
  private readonly kinds = { integer: 0, number: 0, boolean: 0, datetime: 0 };
  private readonly distinct = new DistinctCounter();
  /** Until the top-values map overflows it holds every distinct value, so hashing for the sketch can wait till then. */
  private sketching = false;
  private readonly top = new TopValues(2_048, (values) => {
    for (const value of values) this.distinct.add(value);
    this.sketching = true;
  });
  private readonly moments = new Moments();
  private readonly reservoir = new Reservoir();
  private numMin = Infinity;
  private numMax = -Infinity;
  private dateMin = Infinity;
  private dateMax = -Infinity;
  private textMin: string | null = null;
  private textMax: string | null = null;

  constructor(readonly name: string) {}

  /** Rows that came before this column existed (a key first seen late in JSON): nulls. */
  skip(rows: number) {
    this.count += rows;
    this.nulls += rows;
  }

  /** The hot path: called once per cell, so it branches on the first character before any regex. */
  add(cell: Cell) {
    this.count++;
    if (cell === null || cell === undefined) {
      this.nulls++;
      return;
    }
    let text: string;
    if (typeof cell === "string") {
      if (cell.length <= 4 && nullTokens.has(cell.trim().toLowerCase())) {
        this.nulls++;
        return;
      }
      text = cell;
    } else text = typeof cell === "object" ? JSON.stringify(cell) : String(cell);

    const short = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    // Long values are shortened for the top list, which would make its exact count inexact: sketch from the start.
    if (short !== text && !this.sketching) {
      this.top.flushTo((value) => this.distinct.add(value));
      this.sketching = true;
    }
    this.top.add(short);
    if (this.sketching) this.distinct.add(text);

    if (typeof cell === "number") return this.addNumber(cell, Number.isInteger(cell));
    if (typeof cell === "boolean") {
      this.kinds.boolean++;
      return;
    }
    if (this.textMin === null || short < this.textMin) this.textMin = short;
    if (this.textMax === null || short > this.textMax) this.textMax = short;
    if (typeof cell !== "string") return;
    const first = text.charCodeAt(0);
    const numeric = (first >= 48 && first <= 57) || first === 45 || first === 43 || first === 46; // digit - + .
    if (numeric) {
      if (text.length >= 10 && text.charCodeAt(4) === 45 && datePattern.test(text)) {
        const at = Date.parse(text.length > 10 ? text.replace(" ", "T") : text);
        if (!Number.isNaN(at)) {
          this.kinds.datetime++;
          if (at < this.dateMin) this.dateMin = at;
          if (at > this.dateMax) this.dateMax = at;
        }
        return;
      }
      const value = Number(text);
      // Number() also reads "0x1f", "0b1", "0o7" and padded " 12 ": only plain decimal notation counts.
      const second = text.charCodeAt(1);
      const plain = second !== 120 && second !== 98 && second !== 111 && text.charCodeAt(text.length - 1) > 32;
      if (Number.isFinite(value) && plain) this.addNumber(value, Number.isInteger(value) && integerPattern.test(text));
    } else if ((first === 116 || first === 102 || first === 84 || first === 70) && /^(true|false)$/i.test(text)) {
      this.kinds.boolean++;
    }
  }

  private addNumber(value: number, integer: boolean) {
    this.kinds.number++;
    if (integer) this.kinds.integer++;
    this.moments.add(value);
    this.reservoir.add(value);
    if (value < this.numMin) this.numMin = value;
    if (value > this.numMax) this.numMax = value;
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
          : [this.textMin, this.textMax];
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
      topValues: this.top.unique ? [] : this.top.top(10),
    };
  }
}

/** Profiles rows given as arrays of cells, in the order of `names` (which may grow as JSON brings new keys). */
export class Profiler {
  private readonly columns: ColumnProfiler[] = [];
  rowCount = 0;

  constructor(private readonly names: readonly string[]) {}

  add(row: Cell[]) {
    while (this.columns.length < this.names.length) {
      const column = new ColumnProfiler(this.names[this.columns.length]!);
      column.skip(this.rowCount);
      this.columns.push(column);
    }
    this.rowCount++;
    for (let i = 0; i < this.columns.length; i++) this.columns[i]!.add(row[i]);
  }

  result(): Profile {
    return { rowCount: this.rowCount, columns: this.columns.map((column) => column.result()) };
  }
}
