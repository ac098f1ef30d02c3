// Distribution insights (skew from mean vs median, spread, constant columns) and histogram specs, run over the store like every chart.
import type { ChartPlan } from "../result.ts";
import { type Dataset, type Finding, type NumericColumn, type StepResult, citable, label, sampleNote } from "./dataset.ts";
import { type Stats, clip, fmt, percent } from "./values.ts";

const HISTOGRAMS = 2;

/** Summary statistics from the sample, or from the profile when the sample holds none of the column's values. */
export function statsOf(column: NumericColumn): Stats | null {
  if (column.stats) return column.stats;
  const { mean, stddev, min, max, quantiles, count, nulls } = column.profile;
  const finite = [mean, stddev, min, max].every((value) => typeof value === "number" && Number.isFinite(value));
  if (!finite || typeof min !== "number" || typeof max !== "number" || mean === null || stddev === null || !quantiles) return null;
  const q = (key: string, fallback: number) => quantiles[key] ?? fallback;
  return {
    n: count - nulls,
    mean,
    sd: stddev,
    min,
    max,
    q1: q("p25", min),
    median: q("p50", mean),
    q3: q("p75", max),
    p5: q("p5", min),
    p95: q("p95", max),
  };
}

/** Pearson's second skewness coefficient, 3 (mean − median) / sd: 0 when symmetric, at most ±3. */
const skewOf = (stats: Stats) => (stats.sd > 0 ? (3 * (stats.mean - stats.median)) / stats.sd : 0);

/** Value counts of an integer column with at most 10 distinct values in the sample (cylinders, ratings, flags), else null. */
function discreteValues(column: NumericColumn): [number, number][] | null {
  if (column.facts) return column.facts.discrete && (column.stats?.n ?? 0) >= 20 ? column.facts.discrete : null;
  const counts = new Map<number, number>();
  for (const value of column.sorted) {
    if (!Number.isInteger(value)) return null;
    counts.set(value, (counts.get(value) ?? 0) + 1);
    if (counts.size > 10) return null;
  }
  return counts.size >= 2 && column.sorted.length >= 20 ? [...counts] : null;
}

/** A few repeated values: their shares say more than a skew coefficient, which the repeated median distorts. */
function describeDiscrete(column: NumericColumn, counts: [number, number][], stats: Stats, dataset: Dataset): Finding {
  const n = stats.n;
  // Most frequent first; ties in value order (the map is filled in ascending order and the sort is stable).
  const ranked = [...counts].sort((a, b) => b[1] - a[1]);
  const [mode, modeCount] = ranked[0]!;
  const share = modeCount / n;
  const shares = ranked.map(([value, times]) => `${fmt(value)} ${percent(times / n)}`);
  return {
    strength: share,
    insight: {
      kind: "distribution",
      title: clip(`${label(column.name)} takes ${counts.length} values, most often ${fmt(mode)} (${percent(share)})`, 200),
      detail: clip(
        `Values of ${label(column.name)}${sampleNote(dataset)}: ${shares.join(", ")}. Mean ${fmt(stats.mean)}, median ${fmt(stats.median)}: treat it as an ordered category as much as a measurement.`,
        2_000,
      ),
      columns: citable(column.name) ? [column.name] : [],
      importance: share >= 0.8 ? "high" : share >= 0.5 ? "medium" : "low",
    },
  };
}

function describeColumn(column: NumericColumn, dataset: Dataset): Finding | null {
  const stats = statsOf(column);
  if (!stats) return null;
  const name = column.name;
  const columns = citable(name) ? [name] : [];
  if (stats.sd === 0 || stats.min === stats.max) {
    return {
      strength: 1,
      insight: {
        kind: "distribution",
        title: clip(`${label(name)} is constant`, 200),
        detail: clip(
          `Every value of ${label(name)} is ${fmt(stats.min)}${sampleNote(dataset)}: the column carries no information to compare or correlate.`,
          2_000,
        ),
        columns,
        importance: "medium",
      },
    };
  }
  const discrete = discreteValues(column);
  if (discrete) return describeDiscrete(column, discrete, stats, dataset);
  const skew = skewOf(stats);
  const abs = Math.abs(skew);
  const shape = abs < 0.3 ? "roughly symmetric" : skew > 0 ? "right-skewed" : "left-skewed";
  const tail =
    abs < 0.3
      ? "mean and median nearly agree"
      : skew > 0
        ? "a long tail of high values pulls the mean above the median"
        : "a long tail of low values pulls the mean below the median";
  const zeros = column.facts ? column.facts.zeros : column.sorted.filter((value) => value === 0).length;
  const zeroShare = stats.n > 0 ? zeros / stats.n : 0;
  const parts = [
    `Mean ${fmt(stats.mean)} vs median ${fmt(stats.median)} (skew ${skew.toFixed(2)}): ${tail}${sampleNote(dataset)}.`,
    `The middle half of values lies between ${fmt(stats.q1)} and ${fmt(stats.q3)}, 90% between ${fmt(stats.p5)} and ${fmt(stats.p95)}, and the full range is ${fmt(stats.min)} to ${fmt(stats.max)} (standard deviation ${fmt(stats.sd)}).`,
  ];
  if (stats.min >= 0 && stats.mean > 0) parts.push(`The coefficient of variation is ${percent(stats.sd / stats.mean)}.`);
  if (zeroShare >= 0.2) parts.push(`${percent(zeroShare)} of the values are exactly 0.`);
  return {
    strength: abs,
    insight: {
      kind: "distribution",
      title: clip(`${label(name)} is ${shape}`, 200),
      detail: clip(parts.join(" "), 2_000),
      columns,
      importance: abs >= 1 ? "high" : abs >= 0.5 ? "medium" : "low",
    },
  };
}

/** Bins of the whole column: one per integer for small integer ranges, else at most 20 bins of a nice step (the spec's maxbins). */
function histogram(column: NumericColumn, stats: Stats): ChartPlan["spec"] | null {
  if (stats.n < 5 || stats.min === stats.max || !Number.isFinite(stats.max - stats.min)) return null;
  const integers = column.profile.type === "integer" && stats.max - stats.min < 30;
  return {
    encoding: {
      x: { field: column.name, type: "quantitative", bin: integers ? { step: 1 } : { maxbins: 20 } },
      y: { aggregate: "count", type: "quantitative" },
    },
  };
}

export function distributions(dataset: Dataset): StepResult {
  const columns = dataset.numeric.filter((column) => !column.sequence);
  const findings = columns.map((column) => describeColumn(column, dataset)).filter((finding): finding is Finding => finding !== null);
  // Histograms for the most skewed columns: those are the shapes a mean alone misdescribes.
  const ranked = columns
    .filter((column) => citable(column.name) && column.stats && column.stats.sd > 0)
    .map((column) => ({ column, skew: Math.abs(skewOf(column.stats!)) }))
    .sort((a, b) => b.skew - a.skew);
  const charts: ChartPlan[] = [];
  for (const { column } of ranked) {
    if (charts.length >= HISTOGRAMS) break;
    const spec = histogram(column, column.stats!);
    if (!spec) continue;
    charts.push({
      type: "histogram",
      title: clip(`Distribution of ${label(column.name)}`, 200),
      description: clip(`How the ${column.stats!.n} values of ${label(column.name)} spread over the bins.`, 1_000),
      spec,
    });
  }
  return { findings, charts };
}
