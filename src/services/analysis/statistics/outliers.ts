// Outliers by Tukey's IQR rule on each numeric column's exact quartiles (the store's, store-facts.ts; or the rows given), with counts and the most extreme examples.
import type { Fences } from "./store-facts.ts";
import { type Dataset, type Finding, type NumericColumn, type StepResult, cite, label, sampleNote } from "./dataset.ts";
import { clip, fmt, percent } from "./values.ts";

/** Fewer values than this make quartiles too coarse to call anything an outlier. */
const MIN_VALUES = 8;

/** Values outside [Q1 − 1.5 IQR, Q3 + 1.5 IQR]; null when the rule does not apply (too few values, or IQR 0). */
export function fences(column: NumericColumn): Fences | null {
  if (column.facts) return column.facts.fences;
  const stats = column.stats;
  if (!stats || stats.n < MIN_VALUES) return null;
  const iqr = stats.q3 - stats.q1;
  // With IQR 0 (a column mostly one value) every other value would count: the rule says nothing useful.
  if (!(iqr > 0 && Number.isFinite(iqr))) return null;
  const low = stats.q1 - 1.5 * iqr;
  const high = stats.q3 + 1.5 * iqr;
  const outside = column.sorted.filter((value) => value < low || value > high);
  const extreme = column.sorted.filter((value) => value < stats.q1 - 3 * iqr || value > stats.q3 + 3 * iqr).length;
  // The furthest from the fences first: those are the values to check.
  const examples = outside
    .map((value) => ({ value, distance: Math.max(low - value, value - high) }))
    .sort((a, b) => b.distance - a.distance || a.value - b.value)
    .slice(0, 5)
    .map(({ value }) => value);
  return {
    q1: stats.q1,
    q3: stats.q3,
    low,
    high,
    below: outside.filter((value) => value < low).length,
    above: outside.filter((value) => value > high).length,
    extreme,
    examples,
  };
}

function describeOutliers(column: NumericColumn, dataset: Dataset): Finding | null {
  const found = fences(column);
  if (!found) return null;
  const { below, above, extreme } = found;
  const total = below + above;
  if (total === 0) return null;
  const n = column.stats!.n;
  const share = total / n;
  const examples = found.examples.map(fmt);
  const sides = [above > 0 ? `${above} above ${fmt(found.high)}` : "", below > 0 ? `${below} below ${fmt(found.low)}` : ""]
    .filter(Boolean)
    .join(" and ");
  const detail = [
    `${total} of ${n} values (${percent(share)}) fall outside the IQR fences${sampleNote(dataset)}: ${sides} (Q1 ${fmt(found.q1)}, Q3 ${fmt(found.q3)}).`,
    `Most extreme: ${examples.join(", ")}.`,
    extreme > 0
      ? `${extreme} ${extreme === 1 ? "lies" : "lie"} beyond 3 × IQR, far enough to check for entry errors or a separate population.`
      : "None lies beyond 3 × IQR: a heavy tail rather than gross errors.",
  ].join(" ");
  return {
    strength: share + extreme / n,
    insight: {
      kind: "outlier",
      title: clip(`${total} outlier${total === 1 ? "" : "s"} in ${label(column.name)}`, 200),
      detail: clip(detail, 2_000),
      columns: cite(column.name),
      importance: share >= 0.05 || extreme / n >= 0.01 ? "high" : share >= 0.01 || extreme > 0 ? "medium" : "low",
    },
  };
}

export function outliers(dataset: Dataset): StepResult {
  const findings = dataset.numeric
    .filter((column) => !column.sequence)
    .map((column) => describeOutliers(column, dataset))
    .filter((finding): finding is Finding => finding !== null);
  return { findings, charts: [] };
}
