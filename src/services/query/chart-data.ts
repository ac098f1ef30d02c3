// Executes a chart spec into chart data: compiled against the dataset's columns, run over every row in its store, rows as objects.
import type { Config } from "../../env.ts";
import { type QueryDataset, queryDataset } from "./run.ts";
import { type ChartSpec, compileSpec, type SpecColumn } from "./spec.ts";

export type ChartCell = string | number | boolean | null;

export interface ChartData {
  /** One object per result row, keyed by the spec's output fields. */
  data: Record<string, ChartCell>[];
  /** The compiled statement, as run. */
  query: { sql: string; params: (string | number | null)[] };
  dataset: { id: string; version: number; sha256: string };
  /** Whether the result had more rows than `maxRows`. */
  truncated: boolean;
  /** The output fields and the channel each came from (`x`, `y`, `x2` for a bin's end…). */
  fields: { name: string; channel: string }[];
}

const cellOf = (value: unknown): ChartCell =>
  value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? value : String(value);

/** Result rows (arrays) as objects keyed by the result's column names. */
export const rowObjects = (names: string[], rows: unknown[][]): Record<string, ChartCell>[] =>
  rows.map((row) => Object.fromEntries(names.map((name, i) => [name, cellOf(row[i])])));

/** The rows a chart keeps: the spec's limit, at most `maxRows` (its statement asks for one more, to tell a cut result). */
export const chartLimit = (spec: ChartSpec, maxRows: number): number => Math.min(spec.limit ?? maxRows, maxRows);

/**
 * `spec` over the whole of `dataset` (at most `maxRows` rows kept). Throws SpecError when the spec cannot run on these columns
 * and ApiError when the store refuses (not ready, timeout, too large). `cache: false` re-executes even when a result is cached.
 */
export async function chartData(
  config: Config,
  dataset: QueryDataset,
  columns: SpecColumn[],
  spec: ChartSpec,
  { maxRows, cache = true }: { maxRows: number; cache?: boolean },
): Promise<ChartData> {
  // One row more than kept, so a cut result is told apart from one that fits exactly.
  const limit = chartLimit(spec, maxRows);
  const compiled = compileSpec({ ...spec, limit: limit + 1 }, columns, { maxLimit: Math.max(limit + 1, config.QUERY_MAX_ROWS) });
  const answer = await queryDataset(config, dataset, compiled.sql, compiled.params, { cache, maxRows: limit + 1 });
  const names = answer.columns.map((column) => column.name);
  const rows = rowObjects(names, answer.rows.slice(0, limit));
  return {
    data: rows,
    query: { sql: compiled.sql, params: compiled.params },
    dataset: answer.dataset,
    truncated: answer.rows.length > limit || answer.truncated,
    fields: compiled.fields,
  };
}
