// The profiler: a dataset's rows, a row (JSON) or a batch of CSV records at a time, into one ColumnProfiler per column.
// CSV records are held by their byte spans and profiled a column at a time (see addRecord): part of the hot path measured
// by `BENCH_ONLY=upload npm run bench`.
import { ESCAPED, unescapeCell } from "../csv-scanner.ts";
import { type Coercer, coercersFor, profileType, type TypeOverride } from "../type-overrides.ts";
import { type ColumnSnapshot, ColumnProfiler } from "./column-profiler.ts";
import { type Cell, NotUtf8Error, type Profile } from "./types.ts";

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** CSV cells waiting to be profiled a column at a time (see Profiler.addRecord). */
const BATCH_CELLS = 16_384;

/** A profiler's whole state between two segments of a file (see Profiler.snapshot): JSON. */
export interface ProfilerSnapshot {
  names: string[];
  rowCount: number;
  columns: ColumnSnapshot[];
  /** Each overridden column's unfit values so far (null where none is overridden). */
  coercers: ({ unfit: number; examples: string[] } | null)[];
}

/**
 * Profiles rows in the order of `names` (which may grow as JSON brings new keys): JSON rows as
 * arrays of values, CSV records as the scanner's byte spans.
 */
export class Profiler {
  private readonly columns: ColumnProfiler[] = [];
  private unescaped: Uint8Array = new Uint8Array(256);
  private unescapedView: DataView = new DataView(this.unescaped.buffer);
  /** CSV records not yet profiled: their cells' spans (as the scanner gives them), all in `batchBytes`. */
  private batch = new Int32Array(0);
  private batchRows = 0;
  private batchBytes: Uint8Array | null = null;
  private batchView: DataView = new DataView(new ArrayBuffer(0));
  rowCount = 0;
  /** Overridden columns' readers by column index (JSON columns found later are never overridden: see grow). */
  private readonly coercers: (Coercer | undefined)[];

  constructor(
    private readonly names: readonly string[],
    private readonly overrides?: readonly TypeOverride[],
  ) {
    this.coercers = coercersFor(names, overrides) ?? [];
  }

  /**
   * The state after every row added so far (held CSV records are profiled first: a column's cells go in the same order
   * whenever the batch is cut), for Profiler.restored to go on from as this one would: profiling a file in segments
   * gives the same profile as one pass.
   */
  snapshot(): ProfilerSnapshot {
    if (this.batchRows > 0) this.flush();
    return {
      names: [...this.names],
      rowCount: this.rowCount,
      columns: this.columns.map((column) => column.snapshot()),
      coercers: this.coercers.map((coercer) => (coercer ? { unfit: coercer.unfit, examples: [...coercer.examples] } : null)),
    };
  }

  /** A profiler as snapshot() left it; `overrides` as it was made with. */
  static restored(snapshot: ProfilerSnapshot, overrides?: readonly TypeOverride[]): Profiler {
    const profiler = new Profiler(snapshot.names, overrides);
    profiler.rowCount = snapshot.rowCount;
    profiler.columns.push(...snapshot.columns.map((column) => ColumnProfiler.restored(column)));
    profiler.coerceNewColumns();
    snapshot.coercers.forEach((state, i) => {
      const coercer = profiler.coercers[i];
      if (!state || !coercer) return;
      coercer.unfit = state.unfit;
      coercer.examples.push(...state.examples);
    });
    return profiler;
  }

  private grow() {
    if (this.columns.length < this.names.length) this.coerceNewColumns();
    while (this.columns.length < this.names.length) {
      const column = new ColumnProfiler(this.names[this.columns.length]!, this.names.length);
      column.skip(this.rowCount);
      this.columns.push(column);
    }
  }

  add(row: Cell[]) {
    this.grow();
    this.rowCount++;
    const { coercers } = this;
    for (let i = 0; i < this.columns.length; i++) {
      const coercer = coercers[i];
      if (coercer) this.columns[i]!.add(coercer.coerce(row[i]), coercer.kind);
      else this.columns[i]!.add(row[i]);
    }
  }

  /** JSON brings keys as it goes: an override of a key first seen after the first row gets its reader when the key appears. */
  private coerceNewColumns() {
    if (!this.overrides?.length || this.coercers.length >= this.names.length) return;
    const from = this.coercers.length;
    const more = coercersFor(this.names.slice(from), this.overrides);
    for (let i = from; i < this.names.length; i++) this.coercers[i] = more?.[i - from];
  }

  /**
   * A CSV record: cell i spans bytes[cells[3i]]…bytes[cells[3i + 1]] (see CsvScanner). Records are
   * held (by their spans; `bytes` must not change until result()) and profiled a column at a time
   * when the bytes change or the batch is full: one column's state then stays in the CPU's cache
   * through many rows, which measured about twice as fast as row by row.
   */
  addRecord(bytes: Uint8Array, cells: Int32Array) {
    this.grow();
    const width = 3 * this.columns.length;
    if (bytes !== this.batchBytes || width * (this.batchRows + 1) > this.batch.length) {
      this.flush();
      if (this.batch.length < width) this.batch = new Int32Array(width * Math.max(1, Math.floor(BATCH_CELLS / this.columns.length)));
      this.batchBytes = bytes;
      this.batchView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    const at = width * this.batchRows++;
    for (let i = 0; i < width; i++) this.batch[at + i] = cells[i]!; // (a loop: a subarray per record costs more)
    this.rowCount++;
  }

  /** Profiles the records held, column by column. */
  private flush() {
    const { batch, batchRows: rows, batchView: view, columns } = this;
    const bytes = this.batchBytes!;
    const width = 3 * columns.length;
    this.batchRows = 0;
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      const coercer = this.coercers[i];
      if (coercer) {
        this.flushCoerced(column, coercer, i, rows);
        continue;
      }
      for (let at = 3 * i; at < rows * width; at += width) {
        const start = batch[at]!;
        const end = batch[at + 1]!;
        if (batch[at + 2] !== ESCAPED) {
          column.addBytes(bytes, view, start, end);
          continue;
        }
        const [unescaped, length] = unescapeCell(bytes, start, end, this.unescaped);
        if (unescaped !== this.unescaped) {
          this.unescaped = unescaped;
          this.unescapedView = new DataView(unescaped.buffer);
        }
        column.addBytes(unescaped, this.unescapedView, 0, length);
      }
    }
  }

  /** An overridden column's cells: as text, read as its type (off the hot path: only overridden columns come here). */
  private flushCoerced(column: ColumnProfiler, coercer: Coercer, i: number, rows: number) {
    const { batch } = this;
    const bytes = this.batchBytes!;
    const width = 3 * this.columns.length;
    for (let at = 3 * i; at < rows * width; at += width) {
      const start = batch[at]!;
      const end = batch[at + 1]!;
      let text: string;
      try {
        if (batch[at + 2] !== ESCAPED) text = strict.decode(bytes.subarray(start, end));
        else {
          const [unescaped, length] = unescapeCell(bytes, start, end, this.unescaped);
          this.unescaped = unescaped;
          this.unescapedView = new DataView(unescaped.buffer);
          text = strict.decode(unescaped.subarray(0, length));
        }
      } catch {
        throw new NotUtf8Error("not UTF-8");
      }
      column.add(coercer.coerce(text), coercer.kind);
    }
  }

  result(): Profile {
    if (this.batchRows > 0) this.flush();
    return {
      rowCount: this.rowCount,
      columns: this.columns.map((column, i) => {
        const profile = column.result();
        const coercer = this.coercers[i];
        return coercer ? { ...profile, type: profileType(coercer.override.type), override: coercer.summary() } : profile;
      }),
    };
  }
}
