// What an analysis produces, from the model or the statistical engine: validated by these schemas before anything is saved.
import { z } from "@hono/zod-openapi";

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
  field: z.string().min(1).max(300),
  type: z.enum(["quantitative", "nominal", "ordinal", "temporal"]),
  aggregate: z.enum(["count", "sum", "mean", "median", "min", "max"]).optional(),
});

export const Chart = z
  .object({
    type: z.enum(chartTypes),
    title: z.string().trim().min(1).max(200),
    description: z.string().trim().max(1_000).default(""),
    /** Every column the chart reads. */
    dataKeys: z.array(z.string().min(1).max(300)).min(1).max(10),
    encoding: z.object({ x: Channel, y: Channel.optional(), color: Channel.optional() }),
    /** Points ready to draw (at most 500), when the producer computed them; otherwise draw from the rows preview. */
    data: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))).max(500).optional(),
  })
  .openapi("Chart");

export const AnalysisResult = z.object({
  summary: z.string().trim().min(1).max(4_000),
  insights: z.array(Insight).max(20),
  charts: z.array(Chart).max(10),
});

export type Insight = z.infer<typeof Insight>;
export type Chart = z.infer<typeof Chart>;
export type AnalysisResult = z.infer<typeof AnalysisResult>;
