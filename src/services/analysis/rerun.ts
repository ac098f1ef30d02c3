// Reruns a saved analysis's charts: each chart's statement executed again (never from the cache) against the dataset version it
// was computed over, compared with the rows it saved.
import type { Config } from "../../env.ts";
import { ApiError } from "../../lib/problem.ts";
import { type ChartCell, chartLimit, rowObjects } from "../query/chart-data.ts";
import { type QueryDataset, queryDataset } from "../query/run.ts";
import { type Chart, MAX_CHART_POINTS } from "./result.ts";

export interface ChartRerun {
  index: number;
  title: string;
  /** identical: the same rows in the same order; different: see `rows`; not_rerunnable: saved without a query; failed: see `problem`. */
  status: "identical" | "different" | "not_rerunnable" | "failed";
  identical: boolean;
  rowCount: number | null;
  /** The new rows, when they differ from the saved ones. */
  rows?: Record<string, ChartCell>[];
  problem?: { code: string; detail: string };
}

/** Same rows in the same order, cell for cell (the saved copy went through jsonb, which reorders an object's keys). */
function sameRows(a: Record<string, ChartCell>[], b: Record<string, ChartCell>[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((row, i) => {
    const other = b[i]!;
    const keys = Object.keys(row);
    return keys.length === Object.keys(other).length && keys.every((key) => Object.hasOwn(other, key) && row[key] === other[key]);
  });
}

/** Saved charts from before charts carried their query have none to run. */
const hasQuery = (chart: Partial<Chart>): chart is Chart =>
  Boolean(chart.query?.sql && chart.dataset?.sha256 && chart.spec && Array.isArray(chart.data));

export async function rerunCharts(
  config: Config,
  orgId: string,
  charts: Partial<Chart>[],
  /** The parse options of the dataset versions the charts were drawn from (their type overrides name the store). */
  parseOptionsOf: (datasetId: string) => QueryDataset["parseOptions"],
): Promise<ChartRerun[]> {
  const results: ChartRerun[] = [];
  for (const [index, chart] of charts.entries()) {
    const title = chart.title ?? "";
    if (!hasQuery(chart)) {
      results.push({ index, title, status: "not_rerunnable", identical: false, rowCount: null });
      continue;
    }
    const limit = chartLimit(chart.spec, MAX_CHART_POINTS);
    try {
      const answer = await queryDataset(
        config,
        { ...chart.dataset, orgId, parseOptions: parseOptionsOf(chart.dataset.id) },
        chart.query.sql,
        chart.query.params,
        {
          cache: false,
          maxRows: limit + 1,
        },
      );
      const rows = rowObjects(
        answer.columns.map((column) => column.name),
        answer.rows.slice(0, limit),
      );
      const identical = sameRows(rows, chart.data);
      results.push({
        index,
        title,
        status: identical ? "identical" : "different",
        identical,
        rowCount: rows.length,
        ...(identical ? {} : { rows }),
      });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      results.push({
        index,
        title,
        status: "failed",
        identical: false,
        rowCount: null,
        problem: { code: error.code, detail: error.detail },
      });
    }
  }
  return results;
}
