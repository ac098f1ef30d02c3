// Exact figures of one column over every loaded row, for the load job to put in place of the upload's streaming estimates:
// the distinct count and quantiles by linear interpolation between order statistics (DuckDB's quantile_cont, R's type 7).
import { readMeta } from "./meta.ts";
import { quoteIdentifier } from "../../queues/dataset-loads/values.ts";

/** Which figures to compute (each costs a pass over the column): the ones the profile could only estimate. */
export interface ExactStatsWanted {
  distinct: boolean;
  quantiles: boolean;
}

export interface ExactColumnStats {
  /** Distinct non-null values, as SQLite compares them: typed (1 and 1.0 are one number; instants are their ISO text); null when not wanted. */
  distinct: number | null;
  /** For integer and number columns with a value, when wanted: `p5`… by linear interpolation over every numeric value; else null. */
  quantiles: Record<string, number> | null;
}

export type ExactStatsOutcome = { ok: true; stats: ExactColumnStats } | { ok: false; error: string };

/** quantile_cont's interpolation: lo + f·(hi − lo), or the weighted sum where that difference would overflow. */
function interpolate(lo: number, hi: number, f: number): number {
  if (f === 0 || lo === hi) return lo;
  const spread = hi - lo;
  return Number.isFinite(spread) ? lo + f * spread : lo * (1 - f) + hi * f;
}

/**
 * The column named `name` of the ready store. Each call is one request of the object's (its own CPU
 * budget): the distinct count is one aggregate; the quantiles, one sort reading only the ranks they need.
 */
export function exactColumnStats(sql: SqlStorage, name: string, wanted: ExactStatsWanted, points: readonly number[]): ExactStatsOutcome {
  const meta = readMeta(sql);
  if (meta.status !== "ready") return { ok: false, error: `The store is ${meta.status}, not ready.` };
  const column = meta.columns.find((candidate) => candidate.name === name);
  if (!column) return { ok: false, error: `The store has no column ${JSON.stringify(name)}.` };
  const id = quoteIdentifier(column.name);
  const distinct = wanted.distinct ? sql.exec<{ n: number }>(`SELECT count(DISTINCT ${id}) AS n FROM dataset`).one().n : null;
  if (!wanted.quantiles || (column.type !== "integer" && column.type !== "number"))
    return { ok: true, stats: { distinct, quantiles: null } };
  // Only numbers take part (an integer past 2^53 is held as its digits, text, and would sort after every number).
  const numeric = `typeof(${id}) IN ('integer', 'real')`;
  const n = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM dataset WHERE ${numeric}`).one().n;
  if (n === 0) return { ok: true, stats: { distinct, quantiles: null } };
  const positions = points.map((p) => {
    const h = (n - 1) * p;
    const lo = Math.floor(h);
    return { p, lo, hi: Math.min(n - 1, lo + 1), f: h - lo };
  });
  const ranks = [...new Set(positions.flatMap(({ lo, hi }) => [lo, hi]))];
  const values = new Map<number, number>();
  const rows = sql.exec<{ r: number; v: number }>(
    `SELECT r, v FROM (SELECT ${id} AS v, row_number() OVER (ORDER BY ${id}) - 1 AS r FROM dataset WHERE ${numeric}) WHERE r IN (${ranks.map(() => "?").join(", ")})`,
    ...ranks,
  );
  for (const { r, v } of rows) values.set(r, v);
  const quantiles = Object.fromEntries(
    positions.map(({ p, lo, hi, f }) => [`p${Math.round(p * 100)}`, interpolate(values.get(lo)!, values.get(hi)!, f)]),
  );
  return { ok: true, stats: { distinct, quantiles } };
}
