// Categorical columns: dominant category, concentration of the top values, cardinality, and bar charts of the top values.
import type { ColumnProfile } from "../../datasets/profile/types.ts";
import type { ChartPlan } from "../result.ts";
import { type Dataset, type Finding, type StepResult, cite, citable, label } from "./dataset.ts";
import { clip, count, percent } from "./values.ts";

const BARS = 2;

const present = (column: ColumnProfile) => column.count - column.nulls;
/** Mostly distinct text (names, ids, free text): its top values say little. */
const isIdentifierLike = (column: ColumnProfile) => present(column) >= 20 && column.distinct > 0.5 * present(column);
const quote = (value: string) => `"${clip(value, 60)}"`;

function describeCategory(column: ColumnProfile): Finding | null {
  const total = present(column);
  if (total === 0) return null;
  const columns = cite(column.name);
  if (isIdentifierLike(column) || column.topValues.length === 0) {
    return {
      strength: 0,
      insight: {
        kind: "category",
        title: clip(`${label(column.name)} is mostly unique`, 200),
        detail: clip(
          `${label(column.name)} has about ${count(column.distinct)} distinct values among ${count(total)}: an identifier or free text rather than a category to group by.`,
          2_000,
        ),
        columns,
        importance: "low",
      },
    };
  }
  const [top] = column.topValues;
  const share = top!.count / total;
  const leaders = column.topValues.slice(0, 5).map((entry) => `${quote(entry.value)} ${percent(entry.count / total)}`);
  const top3 = column.topValues.slice(0, 3).reduce((sum, entry) => sum + entry.count, 0) / total;
  const parts = [
    `${label(column.name)} has ${count(column.distinct)} distinct value${column.distinct === 1 ? "" : "s"}; the most common are ${leaders.join(", ")}.`,
  ];
  if (column.distinct > 3) parts.push(`The top three cover ${percent(top3)} of the non-missing rows.`);
  if (share >= 0.8 && column.distinct > 1)
    parts.push(`The imbalance matters for any comparison across ${label(column.name)}: the other groups are small.`);
  const title =
    column.distinct === 1
      ? `${label(column.name)} has a single value, ${quote(top!.value)}`
      : share >= 0.5
        ? `${quote(top!.value)} dominates ${label(column.name)} (${percent(share)})`
        : `${label(column.name)}: ${count(column.distinct)} categories, led by ${quote(top!.value)} (${percent(share)})`;
  return {
    strength: share,
    insight: {
      kind: "category",
      title: clip(title, 200),
      detail: clip(parts.join(" "), 2_000),
      columns,
      importance: share >= 0.8 ? "high" : share >= 0.5 ? "medium" : "low",
    },
  };
}

function bar(column: ColumnProfile): ChartPlan {
  return {
    type: "bar",
    title: clip(`Most common values of ${label(column.name)}`, 200),
    description: clip(`Rows per value for the ${Math.min(10, column.distinct)} most frequent values of ${label(column.name)}.`, 1_000),
    spec: {
      encoding: { x: { field: column.name, type: "nominal" }, y: { aggregate: "count", type: "quantitative" } },
      filter: [{ field: column.name, op: "isNull", value: false }],
      sort: { channel: "y", order: "desc" },
      limit: 10,
    },
  };
}

/** The column as the store counts it (exact distinct values and top values), or as the profile saw it. */
function counted(column: ColumnProfile, dataset: Dataset): ColumnProfile {
  const found = dataset.facts?.categories.get(column.name);
  return found ? { ...column, nulls: column.count - found.total, distinct: found.distinct, topValues: found.top } : column;
}

export function categories(dataset: Dataset): StepResult {
  const columns = dataset.profile.columns
    .filter((column) => column.type === "string" || column.type === "boolean")
    .map((column) => counted(column, dataset));
  const findings = columns.map(describeCategory).filter((finding): finding is Finding => finding !== null);
  const charts = columns
    .filter((column) => citable(column.name) && !isIdentifierLike(column) && column.topValues.length >= 2 && column.distinct >= 2)
    .slice(0, BARS)
    .map(bar);
  return { findings, charts };
}
