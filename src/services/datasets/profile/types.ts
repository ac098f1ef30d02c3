// The profile's types: what a profile is (stored with the dataset: see db/dataset-documents.ts) and what the profiler takes.
export type { Approximate, ColumnProfile, ColumnType, Profile } from "../../../db/dataset-documents.ts";

/** One cell as the parsers hand it over: CSV text, or a JSON value. */
export type Cell = string | number | boolean | null | undefined | object;

/** Thrown for a cell that is not valid UTF-8 (the upload answers NOT_UTF8). */
export class NotUtf8Error extends Error {}

/** What a value is, worked out once per distinct value. */
export enum Kind {
  Integer,
  Number,
  Boolean,
  DateTime,
  Text,
}
