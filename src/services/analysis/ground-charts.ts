// Grounds a proposed chart: its spec is run over the whole dataset and the chart keeps the rows, the statement and the version.
// A spec that does not compile (or that the store refuses) drops the chart, with the reason logged; nothing is drawn from a preview.
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { ApiError } from "../../lib/problem.ts";
import { chartData, type ChartData } from "../query/chart-data.ts";
import type { QueryDataset } from "../query/run.ts";
import { type ChannelName, channelNames, type ChartSpec, SpecError, type SpecColumn } from "../query/spec.ts";
import { type Chart, type ChartPlan, MAX_CHART_POINTS } from "./result.ts";

export interface GroundingTarget {
  dataset: QueryDataset;
  columns: SpecColumn[];
}

type Encoding = Chart["encoding"];
type ChannelType = NonNullable<Encoding["x"]>["type"];

/** How a channel is drawn when the spec does not say: aggregates and bins are quantities, time units are time. */
function channelType(spec: NonNullable<ChartSpec["encoding"][ChannelName]>, column: SpecColumn | undefined): ChannelType {
  if (spec.type) return spec.type;
  if (spec.aggregate || spec.bin !== undefined) return "quantitative";
  if (spec.timeUnit || column?.type === "datetime") return "temporal";
  return column?.type === "integer" || column?.type === "number" ? "quantitative" : "nominal";
}

/** The chart's encoding: each channel of the spec, naming the key of `data` that holds it. */
export function encodingOf(spec: ChartSpec, fields: ChartData["fields"], columns: SpecColumn[]): Encoding {
  const encoding: Encoding = {};
  for (const channel of channelNames) {
    const c = spec.encoding[channel];
    const field = fields.find((f) => f.channel === channel)?.name;
    if (!c || !field) continue;
    const column = columns.find((col) => col.name === c.field);
    encoding[channel] = { field, type: channelType(c, column), ...(c.aggregate ? { aggregate: c.aggregate } : {}) };
  }
  return encoding;
}

/** The dataset's columns the spec reads (channels, then filters), or the data's keys for a spec that reads none (a count). */
function dataKeysOf(spec: ChartSpec, fields: ChartData["fields"]): string[] {
  const read = [...channelNames.map((channel) => spec.encoding[channel]?.field), ...(spec.filter ?? []).map((f) => f.field)];
  const names = [...new Set(read.filter((name): name is string => name !== undefined))];
  return (names.length > 0 ? names : fields.map((f) => f.name)).slice(0, 10);
}

/** The plan run over the store, or null (logged) when its spec cannot run there. */
export async function groundChart(config: Config, logger: Logger, target: GroundingTarget, plan: ChartPlan): Promise<Chart | null> {
  try {
    const result = await chartData(config, target.dataset, target.columns, plan.spec, { maxRows: MAX_CHART_POINTS });
    return {
      type: plan.type,
      title: plan.title,
      description: plan.description,
      dataKeys: dataKeysOf(plan.spec, result.fields),
      encoding: encodingOf(plan.spec, result.fields, target.columns),
      spec: plan.spec,
      data: result.data,
      truncated: result.truncated,
      query: result.query,
      dataset: result.dataset,
    };
  } catch (error) {
    const reason =
      error instanceof SpecError ? `spec: ${error.message}` : error instanceof ApiError ? `store: ${error.code} ${error.message}` : null;
    if (reason === null) throw error;
    logger.warn("chart dropped: its spec does not run on the dataset", { datasetId: target.dataset.id, title: plan.title, reason });
    return null;
  }
}
