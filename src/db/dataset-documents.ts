// The shapes of the datasets table's JSON columns (parse_options, profile): the stored contract, which the upload writes and the
// load job's exact statistics refine. Types (and one list of codes) only, so the schema imports nothing from the services.

/** What a dataset file is: text (CSV, JSON, NDJSON) or binary (Parquet, an Excel .xlsx workbook). */
export const formats = ["csv", "json", "ndjson", "parquet", "xlsx"] as const;
export type Format = (typeof formats)[number];

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
  /** "skip": rows that fail the checks were left out at upload (and are left out by every reader); absent means "fail". */
  onError?: OnError;
  /**
   * JSON and NDJSON under skip: the MAX_JSON_DEPTH the upload judged rows by, so readers leave out the same rows (without
   * skip, readers use the ceiling: every stored row passed the limit of its day).
   */
  maxDepth?: number;
  /** xlsx: the sheet read (the upload's `sheet`, else the workbook's first). */
  sheet?: string;
  /** Column types chosen by the dataset's owner (PATCH /datasets/{id}/schema): every reader applies them (see type-overrides.ts). */
  types?: TypeOverride[];
}

/** The types a column can be set to: `text` keeps a zip code's zeros, `date` and `datetime` read a `format` such as DD/MM/YYYY. */
export type OverrideType = "text" | "integer" | "number" | "boolean" | "date" | "datetime";

export interface TypeOverride {
  column: string;
  type: OverrideType;
  format?: string;
}

/** What a profile says of a column whose type was overridden: values that did not fit are null, counted here. */
export interface OverrideSummary {
  type: OverrideType;
  format: string | null;
  unfit: number;
  examples: string[];
}

/** What an upload does with a row that fails its checks: refuse the file (422), or leave the row out and report it. */
export type OnError = "fail" | "skip";

/** Why a row was left out (a stable code). */
export const rejectReasons = ["CSV_RAGGED_ROW", "JSON_MALFORMED", "NOT_AN_OBJECT", "JSON_TOO_DEEP", "ROW_TOO_LARGE"] as const;
export type RejectReason = (typeof rejectReasons)[number];

/** One row left out under onError=skip, as the reject report lists it. */
export interface RejectedRow {
  /** CSV: the record's number (the header and blank lines counting); NDJSON: the line's; a JSON array: the element's. */
  line: number;
  /** CSV: the 1-based column where the row parts from the header's width; null when the reason is not about a column. */
  column: number | null;
  reason: RejectReason;
  /** The row as it was in the file, cut at 1 KiB of UTF-8. */
  raw: string;
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
  /** Set when the column's type was overridden. */
  override?: OverrideSummary;
}

export interface Profile {
  rowCount: number;
  columns: ColumnProfile[];
}
