// Trends over a date (or year) column: least-squares slope of each numeric column over time, first vs last period, and a line chart.
import type { ChartPlan } from "../result.ts";
import type { TimeUnit } from "../../query/spec-sql.ts";
import { type Dataset, type Finding, type NumericColumn, type StepResult, cite, citable, label, sampleNote } from "./dataset.ts";
import { DAY_MS, addYears, clip, dateLabel, fit, fmt, signed, toTime } from "./values.ts";

const MAX_TRENDS = 3;
const MAX_SERIES = 20;
/** Points on the line chart: finer periods until they would exceed this. */
const MAX_LINE_POINTS = 250;

interface TimeAxis {
  name: string;
  /** Integer years (1970, 1971…) rather than dates: labelled and charted as numbers. */
  years: boolean;
  /** Epoch milliseconds per sample row, NaN where missing. */
  times: Float64Array;
  distinct: number;
}

interface Trend {
  column: NumericColumn;
  order: number[];
  r2: number;
  slopePerDay: number;
  change: number;
  strength: number;
}

function distinctCount(times: Float64Array): number {
  return new Set(Array.from(times).filter((at) => !Number.isNaN(at))).size;
}

/** The time column with the most distinct values: a datetime column, or failing that an integer column of years. */
function timeAxis(dataset: Dataset): TimeAxis | null {
  const candidates: TimeAxis[] = [];
  for (const column of dataset.profile.columns) {
    if (column.type !== "datetime" || !citable(column.name)) continue;
    const times = Float64Array.from(dataset.rows, (row) => toTime(row[column.name]) ?? Number.NaN);
    candidates.push({ name: column.name, years: false, times, distinct: distinctCount(times) });
  }
  for (const column of dataset.numeric) {
    const stats = column.stats;
    if (
      !/year|^yr$/i.test(column.name) ||
      !citable(column.name) ||
      !stats ||
      stats.min < 1000 ||
      stats.max > 3000 ||
      !column.sorted.every(Number.isInteger)
    )
      continue;
    const times = Float64Array.from(column.cells, (year) => (Number.isNaN(year) ? Number.NaN : Date.UTC(year, 0, 1)));
    candidates.push({ name: column.name, years: true, times, distinct: distinctCount(times) });
  }
  const best = candidates.reduce<TimeAxis | null>((top, axis) => (top === null || axis.distinct > top.distinct ? axis : top), null);
  return best && best.distinct >= 3 ? best : null;
}

function trendOf(axis: TimeAxis, column: NumericColumn): Trend | null {
  const order: number[] = [];
  for (let i = 0; i < axis.times.length; i++) if (!Number.isNaN(axis.times[i]!) && !Number.isNaN(column.cells[i]!)) order.push(i);
  if (order.length < 8) return null;
  order.sort((a, b) => axis.times[a]! - axis.times[b]! || a - b);
  const start = axis.times[order[0]!]!;
  const days = order.map((i) => (axis.times[i]! - start) / DAY_MS);
  const line = fit(
    days,
    order.map((i) => column.cells[i]!),
  );
  const sd = column.stats?.sd ?? 0;
  if (!line || !(sd > 0)) return null;
  const change = line.slope * days[days.length - 1]!;
  return { column, order, r2: line.r * line.r, slopePerDay: line.slope, change, strength: Math.abs(change) / sd };
}

const mean = (values: number[]) => values.reduce((sum, value) => sum + value / values.length, 0);

/** First vs last portion: whole years when the span allows (so seasons match), else the first and last fifth of the points. */
function portions(axis: TimeAxis, trend: Trend) {
  const { order, column } = trend;
  const first = axis.times[order[0]!]!;
  const last = axis.times[order[order.length - 1]!]!;
  const value = (i: number) => column.cells[i]!;
  if (addYears(first, 2) <= last) {
    return {
      labels: ["first year", "last year"],
      early: mean(order.filter((i) => axis.times[i]! < addYears(first, 1)).map(value)),
      late: mean(order.filter((i) => axis.times[i]! > addYears(last, -1)).map(value)),
    };
  }
  const k = Math.max(1, Math.floor(order.length / 5));
  return { labels: ["first fifth", "last fifth"], early: mean(order.slice(0, k).map(value)), late: mean(order.slice(-k).map(value)) };
}

function slopeUnit(axis: { years: boolean }, spanDays: number): [string, number] {
  if (axis.years || spanDays >= 730) return ["year", 365.25];
  if (spanDays >= 60) return ["month", 30.4375];
  if (spanDays >= 2) return ["day", 1];
  return ["hour", 1 / 24];
}

/** A trend as reported, whether fitted here over rows or in SQL over the store. */
interface TrendSummary {
  column: NumericColumn;
  r2: number;
  slopePerDay: number;
  change: number;
  strength: number;
  from: number;
  to: number;
  labels: [string, string];
  early: number;
  late: number;
}

function summaryOf(axis: TimeAxis, trend: Trend): TrendSummary {
  const { labels, early, late } = portions(axis, trend);
  return {
    column: trend.column,
    r2: trend.r2,
    slopePerDay: trend.slopePerDay,
    change: trend.change,
    strength: trend.strength,
    from: axis.times[trend.order[0]!]!,
    to: axis.times[trend.order[trend.order.length - 1]!]!,
    labels: labels as [string, string],
    early,
    late,
  };
}

function describeTrend(axis: { name: string; years: boolean }, trend: TrendSummary, dataset: Dataset): Finding {
  const { column, r2, change, strength, from, to, labels, early, late } = trend;
  const when = (at: number) => (axis.years ? String(new Date(at).getUTCFullYear()) : dateLabel(at));
  const [unit, unitDays] = slopeUnit(axis, (to - from) / DAY_MS);
  const relative = early !== 0 ? `, ${signed(((late - early) / Math.abs(early)) * 100)}%` : "";
  const parts = [
    `Ordered by ${label(axis.name)} (${when(from)} to ${when(to)}), ${label(column.name)} has a least-squares slope of ${signed(trend.slopePerDay * unitDays)} per ${unit}: ${signed(change)} over the whole span, ${fmt(strength)} standard deviations (R² = ${r2.toFixed(2)})${sampleNote(dataset)}.`,
    `The ${labels[0]} averaged ${fmt(early)} and the ${labels[1]} ${fmt(late)} (${signed(late - early)}${relative}).`,
  ];
  if (r2 < 0.1) parts.push("The fit is loose: most of the variation is seasonality or noise around a gentle drift.");
  return {
    strength,
    insight: {
      kind: "trend",
      title: clip(
        `${label(column.name)} ${change > 0 ? "rose" : "fell"} over ${label(axis.name)} (${signed(change)} across the span)`,
        200,
      ),
      detail: clip(parts.join(" "), 2_000),
      columns: cite(column.name, axis.name),
      importance: r2 >= 0.5 ? "high" : r2 >= 0.1 || strength >= 0.5 ? "medium" : "low",
    },
  };
}

const HOUR_MS = 3_600_000;

/** The finest time unit that keeps the line within MAX_LINE_POINTS periods over the span (null: years, charted as numbers). */
function lineUnit(axis: { years: boolean }, from: number, to: number): TimeUnit | null {
  if (axis.years) return null;
  // Periods the span touches (an upper bound of the groups): counted on period boundaries, not estimated from its length.
  const month = (at: number) => new Date(at).getUTCFullYear() * 12 + new Date(at).getUTCMonth();
  const day = (at: number) => Math.floor(at / DAY_MS);
  // Day 0 (1970-01-01) was a Thursday: +3 puts week boundaries on Mondays.
  const week = (at: number) => Math.floor((day(at) + 3) / 7);
  const units: [TimeUnit, number][] = [
    ["hour", Math.floor(to / HOUR_MS) - Math.floor(from / HOUR_MS) + 1],
    ["day", day(to) - day(from) + 1],
    ["week", week(to) - week(from) + 1],
    ["month", month(to) - month(from) + 1],
    ["quarter", Math.floor(month(to) / 3) - Math.floor(month(from) / 3) + 1],
  ];
  return units.find(([, periods]) => periods <= MAX_LINE_POINTS)?.[0] ?? "year";
}

/** Means of the column per period over every row: the spec the store runs (the rows path plans the same chart). */
function line(
  axis: { name: string; years: boolean },
  trend: { column: NumericColumn; from: number; to: number },
  dataset: Dataset,
): ChartPlan {
  const { column } = trend;
  const unit = lineUnit(axis, trend.from, trend.to);
  const per = unit ? `per ${unit}` : `per ${label(axis.name)} value`;
  return {
    type: "line",
    title: clip(`${label(column.name)} over ${label(axis.name)}`, 200),
    description: clip(`Mean ${label(column.name)} ${per}${sampleNote(dataset)}.`, 1_000),
    spec: {
      encoding: {
        x: { field: axis.name, type: axis.years ? "quantitative" : "temporal", ...(unit ? { timeUnit: unit } : {}) },
        y: { field: column.name, type: "quantitative", aggregate: "mean" },
      },
      filter: [
        { field: axis.name, op: "isNull", value: false },
        { field: column.name, op: "isNull", value: false },
      ],
      sort: { channel: "x" },
      limit: 500,
    },
  };
}

/** Trends from the store's fits (SQL over every row). */
function storeTrends(dataset: Dataset): { axis: { name: string; years: boolean }; candidates: TrendSummary[] } | null {
  const facts = dataset.facts!;
  if (!facts.axis) return null;
  const byName = new Map(dataset.numeric.map((column) => [column.name, column]));
  const candidates = facts.trends
    .filter((t) => byName.has(t.column) && citable(t.column) && (byName.get(t.column)!.stats?.sd ?? 0) > 0)
    .map((t) => {
      const column = byName.get(t.column)!;
      return { ...t, column, strength: Math.abs(t.change) / column.stats!.sd };
    })
    .filter(() => citable(facts.axis!.name))
    .sort((a, b) => b.strength - a.strength);
  return { axis: facts.axis, candidates };
}

function rowTrends(dataset: Dataset): { axis: { name: string; years: boolean }; candidates: TrendSummary[] } | null {
  const axis = timeAxis(dataset);
  if (!axis) return null;
  const candidates = dataset.numeric
    .filter((column) => column.name !== axis.name && !column.sequence && citable(column.name))
    .slice(0, MAX_SERIES)
    .map((column) => trendOf(axis, column))
    .filter((trend): trend is Trend => trend !== null)
    .sort((a, b) => b.strength - a.strength)
    .map((trend) => summaryOf(axis, trend));
  return { axis, candidates };
}

export function trends(dataset: Dataset): StepResult {
  const found = dataset.facts ? storeTrends(dataset) : rowTrends(dataset);
  if (!found || found.candidates.length === 0) return { findings: [], charts: [] };
  const { axis, candidates } = found;
  const notable = candidates.filter((trend) => trend.r2 >= 0.1 || (trend.strength >= 0.25 && trend.r2 >= 0.01)).slice(0, MAX_TRENDS);
  const charts = [line(axis, notable[0] ?? candidates[0]!, dataset)];
  if (notable.length > 0) return { findings: notable.map((trend) => describeTrend(axis, trend, dataset)), charts };
  const strongest = candidates[0]!;
  const flat: Finding = {
    strength: 0,
    insight: {
      kind: "trend",
      title: clip(`No clear trend over ${label(axis.name)}`, 200),
      detail: clip(
        `Ordered by ${label(axis.name)}, none of the numeric columns moves steadily${sampleNote(dataset)}: the largest drift, in ${label(strongest.column.name)}, is ${signed(strongest.change)} over the whole span (${fmt(strongest.strength)} standard deviations, R² = ${strongest.r2.toFixed(2)}).`,
        2_000,
      ),
      columns: cite(axis.name, ...candidates.map((trend) => trend.column.name)),
      importance: "low",
    },
  };
  return { findings: [flat], charts };
}
