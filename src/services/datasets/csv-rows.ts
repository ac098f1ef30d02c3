// A CSV's records into the profile, the sample and the reject report (the sink the scanner feeds, see profileCsv in
// ingest.ts), with its whole state written out and taken back between segments of one file (see profileCsvSegment).
import { ApiError } from "../../lib/problem.ts";
import { columnNames, partingColumn, raggedRowDetail } from "./csv-header.ts";
import { cellText, type RecordSink } from "./csv-scanner.ts";
import type { Limits } from "./ingest.ts";
import type { ParseOptions } from "./parsers.ts";
import { Profiler, type ProfilerSnapshot } from "./profile/profiler.ts";
import type { Cell } from "./profile/types.ts";
import { rawOfRecord, RejectLog, type RejectedRow } from "./rejects.ts";

export const SAMPLE_ROWS = 20;

export const tooManyRows = (limit: number) =>
  new ApiError(422, { code: "TOO_MANY_ROWS", detail: `The file has more than ${limit} rows, the limit.` });
export const tooManyColumns = (count: number | string, limit: number) =>
  new ApiError(422, { code: "TOO_MANY_COLUMNS", detail: `The file has ${count} columns; the limit is ${limit}.` });

/** CsvRows' state between segments: JSON. */
export interface CsvRowsSnapshot {
  columns: string[];
  /** Null until the first record (the header, or the first row) was read. */
  profiler: ProfilerSnapshot | null;
  sample: Cell[][];
  rejects: { count: number; listed: RejectedRow[] };
}

export class CsvRows {
  columns: string[] = [];
  profiler: Profiler | undefined;
  sample: Cell[][] = [];
  private readonly skip: boolean;

  /** `header`: whether the first record names the columns (given, or read from the file's head). */
  constructor(
    private readonly options: ParseOptions,
    private readonly limits: Limits,
    private readonly header: boolean,
    readonly rejects: RejectLog,
  ) {
    this.skip = options.onError === "skip";
  }

  /** Each record as the scanner gives it: the first names the columns (or is the first row), the others are rows. */
  readonly onRecord: RecordSink = (bytes, cells, count, row, start, end) => {
    const { limits } = this;
    if (!this.profiler) {
      if (count > limits.maxColumns) throw tooManyColumns(count, limits.maxColumns);
      const first = Array.from({ length: count }, (_, i) => cellText(bytes, cells, i));
      this.columns = columnNames(first, this.header);
      this.profiler = new Profiler(this.columns, this.options.types);
      if (this.header) return;
    }
    const { columns, profiler, sample } = this;
    if (count !== columns.length) {
      if (this.skip)
        return this.rejects.add(row, partingColumn(count, columns.length), "CSV_RAGGED_ROW", () => rawOfRecord(bytes, start, end));
      throw new ApiError(422, { code: "CSV_MALFORMED", detail: raggedRowDetail(row, count, columns.length) });
    }
    if (profiler.rowCount >= limits.maxRows) throw tooManyRows(limits.maxRows);
    profiler.addRecord(bytes, cells);
    if (sample.length < SAMPLE_ROWS) sample.push(Array.from({ length: count }, (_, i) => cellText(bytes, cells, i)));
  };

  snapshot(): CsvRowsSnapshot {
    return {
      columns: this.columns,
      profiler: this.profiler?.snapshot() ?? null,
      sample: this.sample,
      rejects: { count: this.rejects.count, listed: this.rejects.listed },
    };
  }

  /** The rows as snapshot() left them, read on under the same options. */
  static restored(snapshot: CsvRowsSnapshot, options: ParseOptions, limits: Limits, header: boolean): CsvRows {
    const rows = new CsvRows(options, limits, header, RejectLog.restored(snapshot.rejects));
    rows.columns = snapshot.columns;
    rows.profiler = snapshot.profiler ? Profiler.restored(snapshot.profiler, options.types) : undefined;
    rows.sample = snapshot.sample;
    return rows;
  }
}
