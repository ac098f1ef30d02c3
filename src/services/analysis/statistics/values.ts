// Numeric helpers for the statistical engine: reading cells as numbers or times (the profile's own rules), overflow-safe summaries, formatting.
import { isNullText, parseInstant, parseNumber } from "../../datasets/profile/cells.ts";

export const DAY_MS = 86_400_000;

/** A cell as a finite number, or null (missing, a null token, text that is not a number, ±Infinity): the profiler's rule. */
export function toNumber(cell: unknown): number | null {
  if (typeof cell === "number") return Number.isFinite(cell) ? cell : null;
  return typeof cell === "string" ? parseNumber(cell) : null;
}

/** A `YYYY-MM-DD` or ISO 8601 cell as epoch milliseconds; a time without a zone is read as UTC, so results never depend on the host. */
export function toTime(cell: unknown): number | null {
  return typeof cell === "string" ? parseInstant(cell) : null;
}

export function isNullCell(cell: unknown): boolean {
  return cell === null || cell === undefined || (typeof cell === "string" && isNullText(cell));
}

/** The largest magnitude, so sums can run on values scaled into [-1, 1] and never overflow. */
function scaleOf(values: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < values.length; i++) scale = Math.max(scale, Math.abs(values[i]!));
  return scale;
}

/** Quantile of ascending `sorted` by linear interpolation between order statistics (R type 7, numpy's default). */
export function quantile(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const f = h - lo;
  // Weighted sum rather than a difference: a difference of huge values of opposite sign overflows.
  return f === 0 ? sorted[lo]! : sorted[lo]! * (1 - f) + sorted[lo + 1]! * f;
}

export interface Stats {
  n: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
  q1: number;
  median: number;
  q3: number;
  p5: number;
  p95: number;
}

/** Exact summary of ascending `sorted` (at least one value). */
export function describe(sorted: readonly number[]): Stats {
  const n = sorted.length;
  const scale = scaleOf(sorted) || 1;
  let sum = 0;
  for (const value of sorted) sum += value / scale;
  const m = sum / n;
  let squares = 0;
  for (const value of sorted) squares += (value / scale - m) ** 2;
  // Rounding can leave a constant column with a sd of 1e-17 × scale: that is zero.
  const sd = n > 1 && sorted[0] !== sorted[n - 1] ? Math.sqrt(squares / (n - 1)) * scale : 0;
  return {
    n,
    mean: Math.min(Math.max(m * scale, sorted[0]!), sorted[n - 1]!),
    sd,
    min: sorted[0]!,
    max: sorted[n - 1]!,
    q1: quantile(sorted, 0.25),
    median: quantile(sorted, 0.5),
    q3: quantile(sorted, 0.75),
    p5: quantile(sorted, 0.05),
    p95: quantile(sorted, 0.95),
  };
}

/** Least-squares fit of y on x: Pearson r and the slope, or null when either side is constant or there are too few pairs. */
export function fit(xs: readonly number[], ys: readonly number[]): { r: number; slope: number } | null {
  const n = xs.length;
  if (n < 3) return null;
  const sx = scaleOf(xs) || 1;
  const sy = scaleOf(ys) || 1;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]! / sx;
    my += ys[i]! / sy;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! / sx - mx;
    const dy = ys[i]! / sy - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  // Relative to the scale, a variance this small is rounding noise on a constant.
  if (sxx <= n * 1e-24 || syy <= n * 1e-24) return null;
  const r = Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
  return { r, slope: (sxy / sxx) * (sy / sx) };
}

/** A number for people: three significant digits, thousands separators, exponents only at the extremes. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e12 || abs < 1e-3)) return value.toExponential(2);
  if (abs >= 1_000)
    return Math.round(value)
      .toString()
      .replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return String(Number(value.toPrecision(3)));
}

export const signed = (value: number) => (value > 0 ? `+${fmt(value)}` : fmt(value));
export const percent = (share: number) => `${Number((share * 100).toFixed(share < 0.1 ? 1 : 0))}%`;
export const count = (n: number) => fmt(Math.round(n));

/** `text` cut to `max` characters (titles and details have schema limits; column names can be long). */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** An epoch time as `YYYY-MM-DD`, or a full ISO time when it is not midnight UTC. */
export function dateLabel(at: number): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return "an unknown date"; // toISOString would throw
  const iso = date.toISOString();
  return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso;
}

/** The same moment `years` calendar years later (or earlier), in UTC. */
export const addYears = (at: number, years: number) => {
  const date = new Date(at);
  return Date.UTC(
    date.getUTCFullYear() + years,
    date.getUTCMonth(),
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  );
};
