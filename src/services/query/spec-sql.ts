// SQLite expressions for the chart spec compiler: quoting, time units, nice bin steps, filters. Values are bound, never inlined.
import type { ColumnType } from "../datasets/profile/types.ts";

export type Param = string | number | null;

/** Collects bound values in the order their `?` appears in the statement text. */
export class Binder {
  readonly params: Param[] = [];
  bind(value: Param): string {
    this.params.push(value);
    return "?";
  }
}

/** A SQLite identifier: double quotes, inner double quotes doubled. */
export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** A column of the store's table, qualified so a column named like a bin CTE's (step, d, last) is never ambiguous. */
export const columnRef = (name: string): string => `"dataset".${ident(name)}`;

export const timeUnits = ["year", "quarter", "month", "week", "day", "hour"] as const;
export type TimeUnit = (typeof timeUnits)[number];

/**
 * Time units in two steps: a cheap per-row key (string slices of the store's ISO-8601 UTC text, so no date parsing per row),
 * and, per group, the period's start as ISO text (`2024-03-01T00:00:00.000Z`). NULL stays NULL. A week is an ISO 8601 week:
 * Monday to Sunday (UTC), named by its Monday (`-6 days` then `weekday 1` lands on the Monday on or before the day). A quarter
 * starts on the first of January, April, July or October. Hours use strftime, so a date-only value is read as midnight.
 */
export function timeUnitKey(column: string, unit: TimeUnit): string {
  switch (unit) {
    case "year":
      return `substr(${column}, 1, 4)`;
    case "quarter": {
      const month = `substr(${column}, 6, 2)`;
      const first = `CASE WHEN ${month} < '04' THEN '01' WHEN ${month} < '07' THEN '04' WHEN ${month} < '10' THEN '07' ELSE '10' END`;
      return `substr(${column}, 1, 5) || ${first}`;
    }
    case "month":
      return `substr(${column}, 1, 7)`;
    case "week":
      return `date(substr(${column}, 1, 10), '-6 days', 'weekday 1')`;
    case "day":
      return `substr(${column}, 1, 10)`;
    case "hour":
      return `strftime('%Y-%m-%dT%H', ${column})`;
  }
}

const timeUnitSuffix: Record<TimeUnit, string> = {
  year: "-01-01T00:00:00.000Z",
  quarter: "-01T00:00:00.000Z",
  month: "-01T00:00:00.000Z",
  week: "T00:00:00.000Z",
  day: "T00:00:00.000Z",
  hour: ":00:00.000Z",
};

/** The period's start from its key (see timeUnitKey). */
export function timeUnitValue(key: string, unit: TimeUnit): string {
  return `${key} || '${timeUnitSuffix[unit]}'`;
}

/** floor(x) that forgives the last bits of a division (0.3 / 0.1 = 2.9999999999999996 is bin 3, as Vega's bin transform does). */
const floorTolerant = (x: string): string => `floor(${x} + (abs(${x}) + 1) * 1e-12)`;
const ceilTolerant = (x: string): string => `ceil(${x} - (abs(${x}) + 1) * 1e-12)`;

/**
 * CTEs for a bin by count (`maxbins`) over `column` within the filtered rows: the extent, then the nice step, Vega-Lite's and
 * Mosaic's rule: the smallest 1, 2 or 5 × 10^k giving at most maxbins bins over the extent (an extent of one value spans |value|,
 * or 1). SQLite here has no log10, so k is read from the exponent printf('%e') writes, and the step is parsed from "c e k" text
 * (so it is the double nearest the decimal, 0.1 not 0.1000…02). `last` is the index of the bin holding the maximum: the last bin
 * is closed, so a maximum on a boundary falls in it. Yields a CTE `name` with columns step, d (decimals to round to) and last.
 */
export function maxbinsCtes(name: string, column: string, where: string, binder: Binder, maxbins: number): string {
  const e = `${name}_e`;
  const r = `${name}_r`;
  const k = `${name}_k`;
  const s = `${name}_s`;
  return [
    // The extent's filter comes first in the text, so its bound values come before maxbins.
    `${e} AS (SELECT CAST(min(${column}) AS REAL) AS lo, CAST(max(${column}) AS REAL) AS hi FROM "dataset"${where})`,
    `${r} AS (SELECT lo, hi, CAST(CASE WHEN hi > lo THEN hi - lo ELSE coalesce(nullif(abs(lo), 0), 1) END AS REAL)` +
      ` / ${binder.bind(maxbins)} AS r FROM ${e})`,
    `${k} AS (SELECT lo, hi, r, CAST(substr(printf('%.15e', r), instr(printf('%.15e', r), 'e') + 1) AS INTEGER) AS k FROM ${r})`,
    `${s} AS (SELECT lo, hi, k, CASE WHEN m <= 1 THEN 1 WHEN m <= 2 THEN 2 WHEN m <= 5 THEN 5 ELSE 10 END AS c` +
      ` FROM (SELECT lo, hi, k, r / CAST('1e' || k AS REAL) AS m FROM ${k}))`,
    // MATERIALIZED: one row computed once, not a scan per row of the join.
    `${name} AS MATERIALIZED (SELECT step, d, max(${ceilTolerant("hi / step")} - 1, ${floorTolerant("lo / step")}) AS last` +
      ` FROM (SELECT lo, hi, CAST(c || 'e' || k AS REAL) AS step, max(0, -k) AS d FROM ${s}))`,
  ].join(", ");
}

/** The CTE for a bin of a given width: bins [i·step, (i+1)·step), anchored at 0, half-open (no extent is read). */
export function stepCte(name: string, binder: Binder, step: number): string {
  return `${name} AS MATERIALIZED (SELECT CAST(${binder.bind(step)} AS REAL) AS step, ${binder.bind(decimalsOf(step))} AS d, NULL AS last)`;
}

/** A row's bin as an integer index (cheap to group by). `clamped`: a maxbins bin, whose last bin holds the maximum. */
export function binIndexExpr(column: string, bin: string, clamped: boolean): string {
  const raw = floorTolerant(`CAST(${column} AS REAL) / ${bin}.step`);
  return `CAST(${clamped ? `min(${raw}, ${bin}.last)` : raw} AS INTEGER)`;
}

/** A bin's start and end from its index, computed once per group, rounded to the step's decimals (3 × 0.1 is 0.3). */
export function binBounds(index: string, bin: string): { start: string; end: string } {
  const step = `(SELECT step FROM ${bin})`;
  const d = `(SELECT d FROM ${bin})`;
  return { start: `round(${index} * ${step}, ${d})`, end: `round((${index} + 1) * ${step}, ${d})` };
}

/** Decimal places of a step as written (0.25 → 2, 2.5e-8 → 9, 100 → 0), at most 20. */
export function decimalsOf(step: number): number {
  const match = /^\d+(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(step));
  if (!match) return 20;
  const places = (match[1]?.length ?? 0) - Number(match[2] ?? 0);
  return Math.min(20, Math.max(0, places));
}

/** Whether values of a column type can be summed or averaged (booleans are 0/1). */
export const isNumeric = (type: ColumnType): boolean => type === "integer" || type === "number" || type === "boolean";
