// The built-in statistical engine: deterministic insights and chart plans from a profile and figures computed over the dataset's
// store (statistics/store-facts.ts), used when no model is configured; given rows instead, it computes from those.
import type { ChartPlan, Insight, PlannedResult } from "./result.ts";
import { categories } from "./statistics/categories.ts";
import { correlations } from "./statistics/correlations.ts";
import { MAX_NUMERIC_COLUMNS, type Dataset, type EngineInput, type StepResult, datasetOf, label } from "./statistics/dataset.ts";
import { distributions } from "./statistics/distributions.ts";
import { missing } from "./statistics/missing.ts";
import { outliers } from "./statistics/outliers.ts";
import { trends } from "./statistics/trends.ts";
import { clip, count, dateLabel } from "./statistics/values.ts";

export type { EngineInput } from "./statistics/dataset.ts";

const MAX_INSIGHTS = 20;
const MAX_CHARTS = 10;
const importanceOrder: Record<Insight["importance"], number> = { high: 0, medium: 1, low: 2 };
/** Kinds in the order a reader wants them when importance ties. */
const kindOrder: Insight["kind"][] = ["correlation", "trend", "outlier", "missing", "distribution", "category", "other", "summary"];

/**
 * Most important first; within one importance the kinds take turns (each kind's strongest, then
 * each kind's second…), so twenty slots are not all spent on one kind.
 */
function rank(steps: StepResult[]): Insight[] {
  const entries = steps.flatMap((step) =>
    [...step.findings]
      .sort((a, b) => b.strength - a.strength)
      .map((finding, turn) => ({ insight: finding.insight, turn, kind: kindOrder.indexOf(finding.insight.kind) })),
  );
  entries.sort(
    (a, b) => importanceOrder[a.insight.importance] - importanceOrder[b.insight.importance] || a.turn - b.turn || a.kind - b.kind,
  );
  return entries.slice(0, MAX_INSIGHTS).map((entry) => entry.insight);
}

function typeCounts(dataset: Dataset): string {
  const counts = { numeric: 0, "date/time": 0, boolean: 0, text: 0 };
  for (const column of dataset.profile.columns) {
    if (column.type === "integer" || column.type === "number") counts.numeric++;
    else if (column.type === "datetime") counts["date/time"]++;
    else if (column.type === "boolean") counts.boolean++;
    else counts.text++;
  }
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([type, n]) => `${n} ${type}`)
    .join(", ");
}

function summarize(dataset: Dataset, insights: Insight[]): string {
  const { rowCount, columns } = dataset.profile;
  const name = clip(String(dataset.name ?? "").trim() || "The dataset", 200);
  if (columns.length === 0) return `${name} has no columns, so there is nothing to analyse.`;
  const shape = `${name} has ${count(rowCount)} row${rowCount === 1 ? "" : "s"} and ${columns.length} column${columns.length === 1 ? "" : "s"} (${typeCounts(dataset)}).`;
  if (rowCount === 0) return `${shape} It holds no data rows yet, so there are no statistics to report.`;
  const dated = columns.find(
    (column) =>
      column.type === "datetime" && !Number.isNaN(Date.parse(String(column.min))) && !Number.isNaN(Date.parse(String(column.max))),
  );
  const ends = dated ? [dateLabel(Date.parse(String(dated.min))), dateLabel(Date.parse(String(dated.max)))] : [];
  // Both ends at the same precision: dates, or full times when either end has one.
  const [from, to] = ends[0]?.length === ends[1]?.length ? ends : ends.map((end) => (end.length === 10 ? `${end}T00:00:00.000Z` : end));
  const span = dated ? ` ${label(dated.name)} runs from ${from} to ${to}.` : "";
  const sampled =
    dataset.complete || (!dataset.facts && dataset.rows.length === 0)
      ? ""
      : ` Row-level statistics come from a sample of ${count(dataset.rows.length)} rows.`;
  const numeric = columns.filter((column) => column.type === "integer" || column.type === "number").length;
  const capped =
    numeric > MAX_NUMERIC_COLUMNS
      ? ` Distributions, outliers, correlations and trends cover the first ${MAX_NUMERIC_COLUMNS} of ${numeric} numeric columns.`
      : "";
  const notable = insights.filter((insight) => insight.importance !== "low").slice(0, 3);
  const findings =
    notable.length > 0 ? ` Most notable: ${notable.map((insight) => insight.title).join("; ")}.` : " No strong patterns stand out.";
  const skipped = dataset.facts?.skipped.length
    ? ` Left out because computing them took too long: ${[...new Set(dataset.facts.skipped)].slice(0, 5).join(", ")}.`
    : "";
  return clip(`${shape}${span}${sampled}${capped}${skipped}${findings}`, 4_000).trim();
}

/** Analyses a dataset from its profile and its store's figures (or rows). Deterministic: the same input gives the same output. */
export function statisticalAnalysis(input: EngineInput): PlannedResult {
  const dataset = datasetOf(input);
  const steps =
    dataset.profile.rowCount === 0
      ? []
      : [correlations(dataset), trends(dataset), outliers(dataset), missing(dataset), distributions(dataset), categories(dataset)];
  // Trimmed as the schema trims them, so the result is already what parsing it would give (a name can start with a space).
  const insights = rank(steps).map((insight) => ({ ...insight, title: insight.title.trim(), detail: insight.detail.trim() }));
  // Charts in the order of the steps: correlation scatter and trend line first, then shapes and categories.
  const charts: ChartPlan[] = steps
    .flatMap((step) => step.charts)
    .slice(0, MAX_CHARTS)
    .map((chart) => ({ ...chart, title: chart.title.trim(), description: chart.description.trim() }));
  return { summary: summarize(dataset, insights), insights, charts };
}
