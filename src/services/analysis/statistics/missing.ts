// Missing data: columns with a notable share of nulls, entirely empty columns, complete rows, and a chart of the gaps.
import type { ColumnProfile } from "../../datasets/profile/types.ts";
import { type Dataset, type Finding, type StepResult, cite, label } from "./dataset.ts";
import { clip, count, isNullCell, percent } from "./values.ts";

/** Below this share a column's gaps are noted in passing, not reported on their own. */
const NOTABLE = 0.01;

const shareOf = (column: ColumnProfile) => (column.count > 0 ? column.nulls / column.count : 0);

/** Rows of the sample with no missing cell in any profiled column. */
function completeRows(dataset: Dataset): number {
  const names = dataset.profile.columns.map((column) => column.name);
  return dataset.rows.filter((row) => names.every((name) => !isNullCell(row[name]))).length;
}

export function missing(dataset: Dataset): StepResult {
  const columns = dataset.profile.columns.filter((column) => column.count > 0 && column.nulls > 0);
  const empty = columns.filter((column) => column.nulls === column.count);
  const gappy = columns
    .filter((column) => column.nulls < column.count && shareOf(column) >= NOTABLE)
    .sort((a, b) => shareOf(b) - shareOf(a));
  const minor = columns.filter((column) => column.nulls < column.count && shareOf(column) < NOTABLE);
  const findings: Finding[] = [];

  if (empty.length > 0) {
    const names = empty.map((column) => column.name);
    const labels = names.map(label);
    findings.push({
      strength: 1,
      insight: {
        kind: "missing",
        title: clip(empty.length === 1 ? `${labels[0]} is entirely empty` : `${empty.length} columns are entirely empty`, 200),
        detail: clip(
          `No row has a value in ${labels.join(", ")}: ${empty.length === 1 ? "it adds" : "they add"} nothing to the analysis and can be dropped.`,
          2_000,
        ),
        columns: cite(...names),
        importance: "medium",
      },
    });
  }

  if (gappy.length > 0) {
    const worst = shareOf(gappy[0]!);
    const listed = gappy
      .slice(0, 10)
      .map((column) => `${label(column.name)} ${percent(shareOf(column))} (${count(column.nulls)} of ${count(column.count)})`);
    const parts = [`Missing values by column: ${listed.join("; ")}${gappy.length > 10 ? `; and ${gappy.length - 10} more` : ""}.`];
    if (minor.length > 0) parts.push(`${minor.length} more column${minor.length === 1 ? " has" : "s have"} a few gaps (under 1%).`);
    if (dataset.facts) {
      const rows = dataset.profile.rowCount;
      const complete = dataset.facts.completeRows;
      if (rows > 0 && complete !== null)
        parts.push(
          `${count(complete)} of ${count(rows)} rows (${percent(complete / rows)}) have every value; the rest have at least one gap, which listwise deletion would drop.`,
        );
    } else if (dataset.rows.length > 0) {
      const complete = completeRows(dataset);
      parts.push(
        `${count(complete)} of ${count(dataset.rows.length)} ${dataset.complete ? "" : "sampled "}rows (${percent(complete / dataset.rows.length)}) have every value; the rest have at least one gap, which listwise deletion would drop.`,
      );
    }
    findings.push({
      strength: worst,
      insight: {
        kind: "missing",
        title: clip(
          gappy.length === 1
            ? `${label(gappy[0]!.name)} is missing ${percent(worst)} of its values`
            : `${gappy.length} columns have missing values (up to ${percent(worst)})`,
          200,
        ),
        detail: clip(parts.join(" "), 2_000),
        columns: cite(...gappy.map((column) => column.name)),
        importance: worst >= 0.2 ? "high" : worst >= 0.05 ? "medium" : "low",
      },
    });
  }

  // No chart: shares per column are not one query over the rows, and every chart is its query's result.
  return { findings, charts: [] };
}
