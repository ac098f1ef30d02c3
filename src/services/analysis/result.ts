// What an analysis produces, from the model or the statistical engine: validated by these schemas before anything is saved.
import { z } from "@hono/zod-openapi";
import { ChartSpec } from "../query/spec.ts";

export const insightKinds = ["summary", "distribution", "outlier", "correlation", "missing", "trend", "category", "other"] as const;

export const Insight = z
  .object({
    kind: z.enum(insightKinds),
    title: z.string().trim().min(1).max(200),
    detail: z.string().trim().min(1).max(2_000),
    /** The columns the insight is about (names from the dataset profile). */
    columns: z.array(z.string().max(300)).max(10).default([]),
    importance: z.enum(["low", "medium", "high"]).default("medium"),
  })
  .openapi("Insight");

export const chartTypes = ["bar", "line", "area", "scatter", "histogram", "pie", "box", "heatmap"] as const;

const Channel = z.object({
  /** The key of `data` this channel reads. */
  field: z.string().min(1).max(300),
  type: z.enum(["quantitative", "nominal", "ordinal", "temporal"]),
  aggregate: z.enum(["count", "sum", "mean", "median", "min", "max", "distinct"]).optional(),
});

/** A cell of a chart's data: what the store answers (booleans as 0/1, datetimes as ISO-8601 text). */
const Cell = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** The most points a chart carries; past that, `truncated` says the spec's result was cut. */
export const MAX_CHART_POINTS = 500;

export const ChartQuery = z
  .object({ sql: z.string(), params: z.array(z.union([z.string(), z.number(), z.null()])) })
  .openapi("ChartQuery", { description: "The statement the spec compiled to, as run against the dataset's store" });

export const ChartDataset = z
  .object({ id: z.uuid(), version: z.number().int(), sha256: z.string() })
  .openapi("ChartDataset", { description: "The dataset version the data was computed over" });

export const Chart = z
  .object({
    type: z.enum(chartTypes),
    title: z.string().trim().min(1).max(200),
    description: z.string().trim().max(1_000).default(""),
    /** Every column of the dataset the chart reads (or, for a plain count, the keys of its data). */
    dataKeys: z.array(z.string().min(1).max(300)).min(1).max(10),
    /** The spec's channels, each naming the key of `data` it draws. */
    encoding: z.object({ x: Channel.optional(), y: Channel.optional(), color: Channel.optional(), theta: Channel.optional() }),
    spec: ChartSpec,
    /** The spec executed over the whole dataset: one object per row, keyed by the spec's output fields. */
    data: z.array(z.record(z.string(), Cell)).max(MAX_CHART_POINTS),
    /** Whether the spec's result had more rows than `data` holds. */
    truncated: z.boolean(),
    query: ChartQuery,
    dataset: ChartDataset,
  })
  .openapi("Chart", { description: "A chart drawable from this object alone: `data` is `spec` run over every row of `dataset`" });

/** A chart as a producer proposes it (the model, the statistical engine): what to draw, before it is run over the store. */
export const ChartPlan = z.object({
  type: z.enum(chartTypes),
  title: z.string().trim().min(1).max(200),
  description: z.string().trim().max(1_000).default(""),
  spec: ChartSpec,
});

export const AnalysisResult = z.object({
  summary: z.string().trim().min(1).max(4_000),
  insights: z.array(Insight).max(20),
  charts: z.array(Chart).max(10),
});

/** What a producer hands over (the model's answer, the statistical engine's output) before its charts are run over the store. */
export const PlannedResult = z.object({
  summary: z.string().trim().min(1).max(4_000),
  insights: z.array(Insight).max(20),
  charts: z.array(ChartPlan).max(10),
});

export type Insight = z.infer<typeof Insight>;
export type Chart = z.infer<typeof Chart>;
export type ChartPlan = z.infer<typeof ChartPlan>;
export type PlannedResult = z.infer<typeof PlannedResult>;
export type AnalysisResult = z.infer<typeof AnalysisResult>;
