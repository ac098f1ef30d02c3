// The shapes of the datasets table's JSON columns (parse_options, profile): the stored contract, which the upload writes and the
// load job's exact statistics refine. Types only, so the schema imports nothing from the services.

export type Format = "csv" | "json" | "ndjson";

/** The text encodings an upload may be in (WHATWG labels, as TextDecoder takes them). */
export type Encoding = "utf-8" | "utf-16le" | "utf-16be" | "windows-1252" | "iso-8859-1" | "iso-8859-15";

/** How a stored file is read back (kept with the dataset, so previews parse it the same way). */
export interface ParseOptions {
  format: Format;
  delimiter?: string;
  /** CSV: whether the first line names the columns. */
  header?: boolean;
  /** How the bytes are decoded; absent on datasets uploaded before it was recorded (they are UTF-8). */
  encoding?: Encoding;
}

export type ColumnType = "integer" | "number" | "boolean" | "datetime" | "string";

/**
 * Which of a column's figures are estimates. The upload's streaming profile marks a distinct count
 * past its exact range and quantiles from a sample; once the dataset's store is loaded, the load job
 * recomputes both exactly and marks them false. Absent on profiles made before it was recorded.
 */
export interface Approximate {
  distinct: boolean;
  quantiles: boolean;
}

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
  approximate?: Approximate;
}

export interface Profile {
  rowCount: number;
  columns: ColumnProfile[];
}
