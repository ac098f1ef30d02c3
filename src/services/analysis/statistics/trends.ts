// Trends over a date (or year) column: least-squares slope of each numeric column over time, first vs last period, and a line chart.
import type { Chart } from "../result.ts";
import { type Dataset, type Finding, type NumericColumn, type StepResult, cite, citable, label, sampleNote } from "./dataset.ts";
import { DAY_MS, clip, dateLabel, fit, fmt, signed, toTime } from "./values.ts";

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
    if (!/year|^yr$/i.test(column.name) || !citable(column.name) || !stats || stats.min < 1000 || stats.max > 3000 || !column.sorted.every(Number.isInteger)) continue;
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

const addYears = (at: number, years: number) => {
  const date = new Date(at);
  return Date.UTC(date.getUTCFullYear() + years, date.getUTCMonth(), date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds());
};
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

function slopeUnit(axis: TimeAxis, spanDays: number): [string, number] {
  if (axis.years || spanDays >= 730) return ["year", 365.25];
  if (spanDays >= 60) return ["month", 30.4375];
  if (spanDays >= 2) return ["day", 1];
  return ["hour", 1 / 24];
}

function describeTrend(axis: TimeAxis, trend: Trend, dataset: Dataset): Finding {
  const { column, order, r2, change, strength } = trend;
  const from = axis.times[order[0]!]!;
  const to = axis.times[order[order.length - 1]!]!;
  const when = (at: number) => (axis.years ? String(new Date(at).getUTCFullYear()) : dateLabel(at));
  const [unit, unitDays] = slopeUnit(axis, (to - from) / DAY_MS);
  const { labels, early, late } = portions(axis, trend);
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
      title: clip(`${label(column.name)} ${change > 0 ? "rose" : "fell"} over ${label(axis.name)} (${signed(change)} across the span)`, 200),
      detail: clip(parts.join(" "), 2_000),
      columns: cite(column.name, axis.name),
      importance: r2 >= 0.5 ? "high" : r2 >= 0.1 || strength >= 0.5 ? "medium" : "low",
    },
  };
}

type Period = { name: string; start: (at: number) => number };

const utc = (at: number) => new Date(at);
const periods: Period[] = [
  { name: "day", start: (at) => Math.floor(at / DAY_MS) * DAY_MS },
  // Weeks start on Monday; day 0 (1970-01-01) was a Thursday.
  { name: "week", start: (at) => (Math.floor(at / DAY_MS) - ((((Math.floor(at / DAY_MS) + 3) % 7) + 7) % 7)) * DAY_MS },
  { name: "month", start: (at) => Date.UTC(utc(at).getUTCFullYear(), utc(at).getUTCMonth(), 1) },
  { name: "quarter", start: (at) => Date.UTC(utc(at).getUTCFullYear(), utc(at).getUTCMonth() - (utc(at).getUTCMonth() % 3), 1) },
  { name: "year", start: (at) => Date.UTC(utc(at).getUTCFullYear(), 0, 1) },
];

/** Means of the column per period, the finest period that keeps the line within MAX_LINE_POINTS. */
function line(axis: TimeAxis, trend: Trend, dataset: Dataset): Chart {
  const { column, order } = trend;
  const times = order.map((i) => axis.times[i]!);
  const from = times[0]!;
  const width = (times[times.length - 1]! - from) / MAX_LINE_POINTS || 1;
  const fallback: Period = { name: "interval", start: (at) => from + Math.min(MAX_LINE_POINTS - 1, Math.floor((at - from) / width)) * width };
  const exact: Period = { name: axis.name, start: (at) => at };
  const period = [exact, ...(axis.years ? [] : periods), fallback].find((candidate) => new Set(times.map(candidate.start)).size <= MAX_LINE_POINTS)!;
  const groups = new Map<number, number[]>();
  for (const i of order) {
    const key = period.start(axis.times[i]!);
    const group = groups.get(key);
    if (group) group.push(column.cells[i]!);
    else groups.set(key, [column.cells[i]!]);
  }
  const data = [...groups].map(([at, values]) => ({
    [axis.name]: axis.years ? new Date(at).getUTCFullYear() : dateLabel(at),
    [column.name]: Number(mean(values).toPrecision(6)),
  }));
  const per = period === exact ? `per ${label(axis.name)} value` : `per ${period.name}`;
  return {
    type: "line",
    title: clip(`${label(column.name)} over ${label(axis.name)}`, 200),
    description: clip(`Mean ${label(column.name)} ${per} (${data.length} points)${sampleNote(dataset)}.`, 1_000),
    dataKeys: [axis.name, column.name],
    encoding: { x: { field: axis.name, type: axis.years ? "quantitative" : "temporal" }, y: { field: column.name, type: "quantitative", aggregate: "mean" } },
    data,
  };
}

export function trends(dataset: Dataset): StepResult {
  const axis = timeAxis(dataset);
  if (!axis) return { findings: [], charts: [] };
  const candidates = dataset.numeric
    .filter((column) => column.name !== axis.name && !column.sequence && citable(column.name))
    .slice(0, MAX_SERIES)
    .map((column) => trendOf(axis, column))
    .filter((trend): trend is Trend => trend !== null)
    .sort((a, b) => b.strength - a.strength);
  if (candidates.length === 0) return { findings: [], charts: [] };
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
