// Pearson correlations between numeric column pairs (computed in SQL over the store, or over the rows given), strongest first, and binned heatmaps of the top pairs.
import type { ChartPlan } from "../result.ts";
import { type Dataset, type Finding, type NumericColumn, type StepResult, cite, citable, label, sampleNote } from "./dataset.ts";
import { clip, fit, percent } from "./values.ts";

const THRESHOLD = 0.5;
const MAX_PAIRS = 8;
const SCATTERS = 2;
/** Pairs seen together fewer times than this give an r too noisy to report. */
const MIN_PAIRS = 8;

export interface Correlation {
  a: NumericColumn;
  b: NumericColumn;
  r: number;
  n: number;
  /** Sample row indices where both values are present. */
  rows: number[];
}

function pair(a: NumericColumn, b: NumericColumn): Correlation | null {
  const xs: number[] = [];
  const ys: number[] = [];
  const rows: number[] = [];
  for (let i = 0; i < a.cells.length; i++) {
    const x = a.cells[i]!;
    const y = b.cells[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    xs.push(x);
    ys.push(y);
    rows.push(i);
  }
  if (xs.length < MIN_PAIRS) return null;
  const line = fit(xs, ys);
  return line ? { a, b, r: line.r, n: xs.length, rows } : null;
}

/** Every pair with |r| ≥ 0.5, strongest first (ties in column order, so the output is stable). */
export function strongPairs(dataset: Dataset): Correlation[] {
  if (dataset.facts) {
    const byName = new Map(dataset.numeric.map((column) => [column.name, column]));
    return dataset.facts.pairs
      .filter((p) => Math.abs(p.r) >= THRESHOLD && byName.has(p.a) && byName.has(p.b))
      .map((p) => ({ a: byName.get(p.a)!, b: byName.get(p.b)!, r: p.r, n: p.n, rows: [] }))
      .sort((x, y) => Math.abs(y.r) - Math.abs(x.r));
  }
  const columns = dataset.numeric.filter((column) => !column.sequence && column.stats && column.stats.sd > 0);
  const found: Correlation[] = [];
  for (let i = 0; i < columns.length; i++) {
    for (let j = i + 1; j < columns.length; j++) {
      const correlation = pair(columns[i]!, columns[j]!);
      if (correlation && Math.abs(correlation.r) >= THRESHOLD) found.push(correlation);
    }
  }
  // Stable sort: equal strengths keep the column order.
  return found.sort((x, y) => Math.abs(y.r) - Math.abs(x.r));
}

function describePair({ a, b, r, n }: Correlation, dataset: Dataset): Finding {
  const abs = Math.abs(r);
  const strength = abs >= 0.9 ? "very strongly" : abs >= 0.7 ? "strongly" : "moderately";
  const direction = r > 0 ? "positively" : "negatively";
  const parts = [
    `Pearson r = ${r.toFixed(2)} over ${n} rows with both values${sampleNote(dataset)}: as ${label(a.name)} rises, ${label(b.name)} tends to ${r > 0 ? "rise" : "fall"}.`,
    `A straight line through one explains about ${percent(r * r)} of the variance of the other.`,
    abs >= 0.98
      ? "The two columns carry nearly the same information; one may be derived from the other."
      : "Correlation alone does not show which drives which.",
  ];
  return {
    strength: abs,
    insight: {
      kind: "correlation",
      title: clip(`${label(a.name)} and ${label(b.name)} are ${strength} ${direction} correlated`, 200),
      detail: clip(parts.join(" "), 2_000),
      columns: cite(a.name, b.name),
      importance: abs >= 0.8 ? "high" : abs >= 0.65 ? "medium" : "low",
    },
  };
}

/** Every row with both values, counted in a grid of bins: the whole cloud, however many rows (a scatter of 500 would be a sample). */
function heatmap({ a, b, r, n }: Correlation, dataset: Dataset): ChartPlan {
  return {
    type: "heatmap",
    title: clip(`${label(b.name)} against ${label(a.name)}`, 200),
    description: clip(
      `Rows per cell of ${label(a.name)} by ${label(b.name)}, over the ${n} rows with both values${sampleNote(dataset)}; Pearson r = ${r.toFixed(2)}.`,
      1_000,
    ),
    spec: {
      encoding: {
        x: { field: a.name, type: "quantitative", bin: { maxbins: 20 } },
        y: { field: b.name, type: "quantitative", bin: { maxbins: 20 } },
        color: { aggregate: "count", type: "quantitative" },
      },
      filter: [
        { field: a.name, op: "isNull", value: false },
        { field: b.name, op: "isNull", value: false },
      ],
    },
  };
}

export function correlations(dataset: Dataset): StepResult {
  const pairs = strongPairs(dataset);
  return {
    findings: pairs.slice(0, MAX_PAIRS).map((found) => describePair(found, dataset)),
    charts: pairs
      .filter((found) => citable(found.a.name) && citable(found.b.name))
      .slice(0, SCATTERS)
      .map((found) => heatmap(found, dataset)),
  };
}
