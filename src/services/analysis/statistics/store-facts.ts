// The statistical engine's figures computed in SQL over every row of the dataset's store: exact summaries and quantiles,
// IQR fences, Pearson correlations, trends over the full time range, category shares and complete rows.
import type { ColumnProfile, Profile } from "../../datasets/profile/types.ts";
import { ApiError } from "../../../lib/problem.ts";
import { ident } from "../../query/spec-sql.ts";
import { DAY_MS, type Stats, addYears } from "./values.ts";

/** Runs one read-only statement over `dataset` and answers its rows (as arrays, in the statement's column order). */
export type RunSql = (sql: string, params?: (string | number | null)[]) => Promise<unknown[][]>;

export interface Fences {
  q1: number;
  q3: number;
  low: number;
  high: number;
  below: number;
  above: number;
  /** Values beyond 3 × IQR (Tukey's "far out"). */
  extreme: number;
  /** The values furthest from the fences, furthest first (at most 5). */
  examples: number[];
}

export interface ColumnFacts {
  stats: Stats | null;
  /** A running index in row order (1, 2, 3…). */
  sequence: boolean;
  /** Value counts, ascending by value, of an integer column with 2–10 distinct values; else null. */
  discrete: [number, number][] | null;
  zeros: number;
  fences: Fences | null;
}

export interface PairFact {
  a: string;
  b: string;
  r: number;
  n: number;
}

export interface TimeAxisFacts {
  name: string;
  /** Integer years rather than dates. */
  years: boolean;
  /** Epoch milliseconds of the first and last time. */
  from: number;
  to: number;
}

export interface TrendFact {
  column: string;
  n: number;
  r2: number;
  slopePerDay: number;
  /** The fitted change over the series' own span. */
  change: number;
  from: number;
  to: number;
  labels: [string, string];
  early: number;
  late: number;
}

export interface CategoryFacts {
  total: number;
  distinct: number;
  top: { value: string; count: number }[];
}

export interface StoreFacts {
  numeric: Map<string, ColumnFacts>;
  pairs: PairFact[];
  axis: TimeAxisFacts | null;
  trends: TrendFact[];
  categories: Map<string, CategoryFacts>;
  /** Null when counting them took too long. */
  completeRows: number | null;
  /** Figures left out because computing them took longer than a query may. */
  skipped: string[];
}

/** Bounds that keep one analysis a handful of scans: quantile sorts per column, pair sums quadratic in columns. */
const MAX_NUMERIC = 40;
const MAX_CORRELATED = 16;
const MAX_SERIES = 20;
const MAX_CATEGORIES = 40;
const MIN_PAIRS = 8;
const quantileLevels = { p5: 0.05, q1: 0.25, median: 0.5, q3: 0.75, p95: 0.95 } as const;

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);
/** Our own numbers, written into the statement (a Durable Object binds few values; these are never the caller's text). */
const lit = (value: number) => `(${Number.isFinite(value) ? String(value) : "NULL"})`;
const col = (name: string) => `"dataset".${ident(name)}`;

/** Julian days (SQLite's) of an epoch time, and back. */
const toJulian = (ms: number) => ms / DAY_MS + 2440587.5;
const fromJulian = (jd: number) => (jd - 2440587.5) * DAY_MS;

async function numericSummaries(run: RunSql, columns: ColumnProfile[]) {
  if (columns.length === 0) return [];
  const parts = columns.flatMap((c) => [
    `count(${col(c.name)})`,
    `avg(${col(c.name)})`,
    `min(${col(c.name)})`,
    `max(${col(c.name)})`,
    `sum(${col(c.name)} = 0)`,
  ]);
  const row = await aggregates(run, parts);
  const first = columns.map((c, i) => ({
    column: c,
    n: num(row[i * 5]) ?? 0,
    mean: num(row[i * 5 + 1]),
    min: num(row[i * 5 + 2]),
    max: num(row[i * 5 + 3]),
    zeros: num(row[i * 5 + 4]) ?? 0,
  }));
  // Second pass: squared deviations from the exact mean (no cancellation, as a sum of squares minus a square would have).
  const live = first.filter((c) => c.n > 0 && c.mean !== null);
  const squares = new Map<string, number>();
  if (live.length > 0) {
    const dev = await aggregates(
      run,
      live.map((c) => `sum((${col(c.column.name)} - ${lit(c.mean!)}) * (${col(c.column.name)} - ${lit(c.mean!)}))`),
    );
    live.forEach((c, i) => squares.set(c.column.name, num(dev[i]) ?? 0));
  }
  return first.map((c) => ({ ...c, squares: squares.get(c.column.name) ?? 0 }));
}

/** Exact quantiles by linear interpolation between order statistics (quantile_cont), the order statistics read in SQL. */
async function quantilesOf(run: RunSql, name: string, n: number): Promise<Record<keyof typeof quantileLevels, number>> {
  const ranks = new Set<number>();
  for (const p of Object.values(quantileLevels)) {
    const h = (n - 1) * p;
    ranks.add(Math.floor(h));
    ranks.add(Math.min(n - 1, Math.floor(h) + 1));
  }
  const rows = await run(
    `SELECT i, v FROM (SELECT ${col(name)} AS v, row_number() OVER (ORDER BY ${col(name)}) - 1 AS i FROM "dataset" WHERE ${col(name)} IS NOT NULL)` +
      ` WHERE i IN (SELECT value FROM json_each(?))`,
    [JSON.stringify([...ranks])],
  );
  const at = new Map(rows.map((row) => [Number(row[0]), Number(row[1])]));
  const q = (p: number) => {
    const h = (n - 1) * p;
    const lo = Math.floor(h);
    const f = h - lo;
    return f === 0 ? at.get(lo)! : at.get(lo)! * (1 - f) + at.get(lo + 1)! * f;
  };
  return { p5: q(0.05), q1: q(0.25), median: q(0.5), q3: q(0.75), p95: q(0.95) };
}

async function isSequence(run: RunSql, name: string, n: number, rows: number): Promise<boolean> {
  if (n < 3 || n !== rows) return false;
  const [row] = await run(
    `SELECT min(d), max(d), count(d) FROM (SELECT ${col(name)} - lag(${col(name)}) OVER (ORDER BY "dataset"._rowid_) AS d FROM "dataset")`,
  );
  const [lo, hi, count] = [num(row![0]), num(row![1]), num(row![2])];
  return lo !== null && lo === hi && lo !== 0 && count === n - 1;
}

async function discreteOf(run: RunSql, name: string): Promise<[number, number][] | null> {
  const rows = await run(`SELECT ${col(name)}, count(*) FROM "dataset" WHERE ${col(name)} IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT 11`);
  if (rows.length < 2 || rows.length > 10 || !rows.every((row) => Number.isInteger(row[0]))) return null;
  return rows.map((row) => [Number(row[0]), Number(row[1])]);
}

/** Tukey's fences on the exact quartiles, with the counts beyond them and the most extreme values. */
export async function fencesOf(run: RunSql, name: string, stats: Stats): Promise<Fences | null> {
  const iqr = stats.q3 - stats.q1;
  if (stats.n < 8 || !(iqr > 0 && Number.isFinite(iqr))) return null;
  const low = stats.q1 - 1.5 * iqr;
  const high = stats.q3 + 1.5 * iqr;
  const c = col(name);
  const [row] = await run(
    `SELECT sum(${c} < ${lit(low)}), sum(${c} > ${lit(high)}), sum(${c} < ${lit(stats.q1 - 3 * iqr)} OR ${c} > ${lit(stats.q3 + 3 * iqr)}) FROM "dataset"`,
  );
  const below = num(row![0]) ?? 0;
  const above = num(row![1]) ?? 0;
  const examples =
    below + above === 0
      ? []
      : (
          await run(
            `SELECT ${c} FROM "dataset" WHERE ${c} < ${lit(low)} OR ${c} > ${lit(high)} ORDER BY max(${lit(low)} - ${c}, ${c} - ${lit(high)}) DESC, ${c} LIMIT 5`,
          )
        ).map((r) => Number(r[0]));
  return { q1: stats.q1, q3: stats.q3, low, high, below, above, extreme: num(row![2]) ?? 0, examples };
}

/** Aggregates per statement: each statement has the query time limit to itself, so wide work is split across several. */
const AGGREGATES_PER_STATEMENT = 48;

/** Runs `parts` (aggregate expressions over `from`) in as many statements as they need; answers every value in order. */
async function aggregates(run: RunSql, parts: string[], from = `"dataset"`): Promise<unknown[]> {
  const values: unknown[] = [];
  for (let at = 0; at < parts.length; at += AGGREGATES_PER_STATEMENT) {
    const [row] = await run(`SELECT ${parts.slice(at, at + AGGREGATES_PER_STATEMENT).join(", ")} FROM ${from}`);
    values.push(...row!);
  }
  return values;
}

interface PairColumn {
  name: string;
  mean: number;
  /** Present in every row: its pair sums come from its own figures, one product per pair is left to compute. */
  complete: boolean;
  /** Sum of squared deviations from the mean (over all its values). */
  squares: number;
}

/**
 * Pearson r of every pair: sums of deviations from each column's exact mean over the rows where both are present (NULL
 * propagates: a product or a `+ 0 * b` term exists only where both values do). Two columns with no gaps need only the product.
 */
async function pairsOf(run: RunSql, columns: PairColumn[], rows: number): Promise<PairFact[]> {
  const pairs: [number, number][] = [];
  for (let i = 0; i < columns.length; i++) for (let j = i + 1; j < columns.length; j++) pairs.push([i, j]);
  if (pairs.length === 0) return [];
  const dev = (k: number) => `(${col(columns[k]!.name)} - ${lit(columns[k]!.mean)})`;
  const both = (i: number, j: number) => columns[i]!.complete && columns[j]!.complete;
  const parts = pairs.flatMap(([i, j]) =>
    both(i, j)
      ? [`sum(${dev(i)} * ${dev(j)})`]
      : [
          `count(${dev(i)} * ${dev(j)})`,
          `sum(${dev(i)} + 0 * ${dev(j)})`,
          `sum(${dev(j)} + 0 * ${dev(i)})`,
          `sum(${dev(i)} * ${dev(i)} + 0 * ${dev(j)})`,
          `sum(${dev(j)} * ${dev(j)} + 0 * ${dev(i)})`,
          `sum(${dev(i)} * ${dev(j)})`,
        ],
  );
  const values = (await aggregates(run, parts)).map((v) => num(v) ?? 0);
  const found: PairFact[] = [];
  let at = 0;
  for (const [i, j] of pairs) {
    const [n, sx, sy, sxx, syy, sxy] = both(i, j)
      ? [rows, 0, 0, columns[i]!.squares, columns[j]!.squares, values[at++]!]
      : (values.slice(at, (at += 6)) as [number, number, number, number, number, number]);
    if (n < MIN_PAIRS) continue;
    const vx = sxx - (sx * sx) / n;
    const vy = syy - (sy * sy) / n;
    if (!(vx > 0 && vy > 0)) continue;
    const r = Math.max(-1, Math.min(1, (sxy - (sx * sy) / n) / Math.sqrt(vx * vy)));
    found.push({ a: columns[i]!.name, b: columns[j]!.name, r, n });
  }
  return found;
}

/** The time column with the most distinct values: a datetime column, or failing that an integer column of years. */
async function timeAxisOf(
  run: RunSql,
  profile: Profile,
  years: { name: string; min: number; max: number }[],
): Promise<{ axis: TimeAxisFacts; t: string } | null> {
  const candidates = [
    ...profile.columns
      .filter((c) => c.type === "datetime")
      .map((c) => ({ name: c.name, years: false, t: (v: string) => `julianday(${v})` })),
    ...years.map((c) => ({ name: c.name, years: true, t: (v: string) => `julianday(printf('%04d-01-01', ${v}))` })),
  ];
  if (candidates.length === 0) return null;
  // The store's datetimes are ISO-8601 UTC text, which sorts as time does: min and max of the text, converted once.
  const [row] = await run(
    `SELECT ${candidates.map((c) => `count(DISTINCT ${col(c.name)}), ${c.t(`min(${col(c.name)})`)}, ${c.t(`max(${col(c.name)})`)}`).join(", ")} FROM "dataset"`,
  );
  let best: { axis: TimeAxisFacts; t: string; distinct: number } | null = null;
  candidates.forEach((c, i) => {
    const distinct = num(row![i * 3]) ?? 0;
    const from = num(row![i * 3 + 1]);
    const to = num(row![i * 3 + 2]);
    // A datetime column is preferred to a year column of as many values, as the sample engine did (datetimes come first).
    if (from === null || to === null || distinct < 3 || (best && distinct <= best.distinct)) return;
    best = { axis: { name: c.name, years: c.years, from: fromJulian(from), to: fromJulian(to) }, t: c.t(col(c.name)), distinct };
  });
  return best;
}

/** Least-squares fit of each series on time (days) over every row, and its first vs last portion. */
async function trendsOf(
  run: RunSql,
  axis: { axis: TimeAxisFacts; t: string },
  series: { name: string; mean: number }[],
): Promise<TrendFact[]> {
  if (series.length === 0) return [];
  const origin = toJulian(axis.axis.from);
  // Days since the first time, computed once per row: a subquery with LIMIT under an aggregate is never flattened (SQLite's
  // rule), so it runs as a co-routine, streaming, and `_t` is not re-evaluated for each aggregate that reads it.
  const from = `(SELECT ${axis.t} - ${lit(origin)} AS _t, ${series.map((s, k) => `${col(s.name)} AS _y${k}`).join(", ")} FROM "dataset" LIMIT -1)`;
  const t = "_t";
  const parts = series.flatMap((s, k) => {
    const y = `(_y${k} - ${lit(s.mean)})`;
    return [
      `count(${t} * ${y})`,
      `sum(${t} + 0 * ${y})`,
      `sum(${y} + 0 * ${t})`,
      `sum(${t} * ${t} + 0 * ${y})`,
      `sum(${y} * ${y} + 0 * ${t})`,
      `sum(${t} * ${y})`,
      `min(${t} + 0 * ${y})`,
      `max(${t} + 0 * ${y})`,
    ];
  });
  const values = await aggregates(run, parts, from);
  const fits = series.map((s, k) => {
    const [n, st, sy, stt, syy, sty, lo, hi] = values.slice(k * 8, k * 8 + 8).map((v) => num(v) ?? 0) as number[];
    const vt = stt! - (st! * st!) / n!;
    const vy = syy! - (sy! * sy!) / n!;
    const cov = sty! - (st! * sy!) / n!;
    if (n! < 8 || !(vt > 0) || !(vy > 0)) return null;
    const slope = cov / vt;
    const r = Math.max(-1, Math.min(1, cov / Math.sqrt(vt * vy)));
    const from = fromJulian(origin + lo!);
    const to = fromJulian(origin + hi!);
    // Whole years when the span allows (so seasons match), else the first and last fifth of the span.
    const yearly = addYears(from, 2) <= to;
    const early = yearly ? addYears(from, 1) : from + (to - from) / 5;
    const late = yearly ? addYears(to, -1) : to - (to - from) / 5;
    return { s, n: n!, r2: r * r, slopePerDay: slope, change: slope * (hi! - lo!), from, to, yearly, early, late };
  });
  const live = fits.filter((fit) => fit !== null);
  if (live.length === 0) return [];
  const means = live.flatMap((f) => {
    const k = series.indexOf(f.s);
    return [
      `avg(CASE WHEN ${t} < ${lit(toJulian(f.early) - origin)} THEN _y${k} END)`,
      `avg(CASE WHEN ${t} ${f.yearly ? ">" : ">="} ${lit(toJulian(f.late) - origin)} THEN _y${k} END)`,
    ];
  });
  // The first portion is at least the first time itself, so neither mean is empty where the fit had points.
  const portions = await aggregates(run, means, from);
  return live.map((f, k) => ({
    column: f.s.name,
    n: f.n,
    r2: f.r2,
    slopePerDay: f.slopePerDay,
    change: f.change,
    from: f.from,
    to: f.to,
    labels: f.yearly ? ["first year", "last year"] : ["first fifth of the span", "last fifth"],
    early: num(portions[k * 2]) ?? Number.NaN,
    late: num(portions[k * 2 + 1]) ?? Number.NaN,
  }));
}

async function categoriesOf(run: RunSql, columns: ColumnProfile[]): Promise<Map<string, CategoryFacts>> {
  const facts = new Map<string, CategoryFacts>();
  if (columns.length === 0) return facts;
  const row = await aggregates(
    run,
    columns.flatMap((c) => [`count(${col(c.name)})`, `count(DISTINCT ${col(c.name)})`]),
  );
  for (const [i, c] of columns.entries()) {
    const top = await run(
      `SELECT ${col(c.name)}, count(*) FROM "dataset" WHERE ${col(c.name)} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`,
    );
    // Booleans are stored as 0/1; the profile (and people) say true/false.
    const shown = (value: unknown) => (c.type === "boolean" ? (value === 1 ? "true" : "false") : String(value));
    facts.set(c.name, {
      total: num(row[i * 2]) ?? 0,
      distinct: num(row[i * 2 + 1]) ?? 0,
      top: top.map((r) => ({ value: shown(r[0]), count: Number(r[1]) })),
    });
  }
  return facts;
}

/**
 * A figure that would take longer than a query may (a very wide or very long table) is left out rather than failing the
 * analysis: `skipped` names it, and the summary says so.
 */
async function tolerate<T>(skipped: string[], what: string, fallback: T, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError && (error.code === "QUERY_TIMEOUT" || error.code === "QUERY_RESULT_TOO_LARGE")) {
      skipped.push(what);
      return fallback;
    }
    throw error;
  }
}

/** Every figure the engine reports, from the store (`rows` is the store's row count). */
export async function storeFacts(run: RunSql, profile: Profile, rows: number): Promise<StoreFacts> {
  const skipped: string[] = [];
  const numericColumns = profile.columns.filter((c) => c.type === "integer" || c.type === "number").slice(0, MAX_NUMERIC);
  const summaries = await numericSummaries(run, numericColumns);
  const numeric = new Map<string, ColumnFacts>();
  for (const s of summaries) {
    const none = { stats: null, sequence: false, discrete: null, zeros: 0, fences: null };
    if (s.n === 0 || s.mean === null || s.min === null || s.max === null) {
      numeric.set(s.column.name, none);
      continue;
    }
    const facts = await tolerate(skipped, `the quantiles of ${s.column.name}`, none, async (): Promise<ColumnFacts> => {
      const q = await quantilesOf(run, s.column.name, s.n);
      const sd = s.n > 1 && s.min !== s.max ? Math.sqrt(s.squares / (s.n - 1)) : 0;
      const stats: Stats = { n: s.n, mean: s.mean!, sd, min: s.min!, max: s.max!, ...q };
      const integer = s.column.type === "integer";
      const sequence = integer && (await isSequence(run, s.column.name, s.n, rows));
      return {
        stats,
        sequence,
        discrete: integer && !sequence ? await discreteOf(run, s.column.name) : null,
        zeros: s.zeros,
        fences: sequence ? null : await fencesOf(run, s.column.name, stats),
      };
    });
    numeric.set(s.column.name, facts);
  }
  const eligible = summaries.filter((s) => !numeric.get(s.column.name)!.sequence && (numeric.get(s.column.name)!.stats?.sd ?? 0) > 0);
  const correlated = eligible
    .slice(0, MAX_CORRELATED)
    .map((s) => ({ name: s.column.name, mean: s.mean!, complete: s.n === rows, squares: s.squares }));
  const pairs = await tolerate(skipped, "correlations", [], () => pairsOf(run, correlated, rows));
  const years = summaries
    .filter(
      (s) =>
        /year|^yr$/i.test(s.column.name) &&
        s.column.type === "integer" &&
        s.min !== null &&
        s.max !== null &&
        s.min >= 1000 &&
        s.max <= 3000,
    )
    .map((s) => ({ name: s.column.name, min: s.min!, max: s.max! }));
  const axis = await tolerate(skipped, "trends", null, () => timeAxisOf(run, profile, years));
  const series = axis
    ? eligible
        .filter((s) => s.column.name !== axis.axis.name)
        .slice(0, MAX_SERIES)
        .map((s) => ({ name: s.column.name, mean: s.mean! }))
    : [];
  const trends = axis ? await tolerate(skipped, "trends", [], () => trendsOf(run, axis, series)) : [];
  const categories = await tolerate(skipped, "category counts", new Map<string, CategoryFacts>(), () =>
    categoriesOf(run, profile.columns.filter((c) => c.type === "string" || c.type === "boolean").slice(0, MAX_CATEGORIES)),
  );
  const complete = await tolerate(skipped, "complete rows", null, async () =>
    profile.columns.length > 0
      ? num(
          (
            await run(`SELECT count(*) FROM "dataset" WHERE ${profile.columns.map((c) => `${col(c.name)} IS NOT NULL`).join(" AND ")}`)
          )[0]![0],
        )
      : rows,
  );
  return { numeric, pairs, axis: axis?.axis ?? null, trends, categories, completeRows: complete, skipped };
}
