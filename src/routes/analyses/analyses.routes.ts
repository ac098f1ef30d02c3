// Route definitions for analyses: run one on a session (SSE stream or queued job), read one, list a session's.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { Problem } from "../../lib/problem.ts";
import { Chart, ChartDataset, Insight } from "../../services/analysis/result.ts";
import { IdParam, Text, Timestamp } from "../schemas.ts";

export const Analysis = z
  .object({
    id: z.uuid(),
    sessionId: z.uuid(),
    status: z.enum(["queued", "running", "succeeded", "failed"]),
    mode: z.enum(["stream", "queue"]),
    engine: z.enum(["openai", "statistical"]).openapi({
      description:
        '"statistical" when no model is configured (or asked for): deterministic, every figure computed in SQL over the store of the dataset',
    }),
    model: z.string().nullable(),
    question: z.string().nullable(),
    summary: z.string().nullable(),
    insights: z.array(Insight),
    charts: z.array(Chart),
    usage: z.object({ promptTokens: z.number().int().nullable(), completionTokens: z.number().int().nullable() }),
    error: Problem.nullable().openapi({ description: "Why a failed analysis failed" }),
    attempts: z.number().int(),
    createdAt: Timestamp,
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
    durationMs: z.number().int().nullable(),
  })
  .openapi("Analysis");

export const create = createRoute({
  method: "post",
  path: "/sessions/{id}/analyses",
  operationId: "runAnalysis",
  tags: ["Analyses"],
  summary: "Analyse the session's dataset (streamed as SSE, or queued)",
  description:
    "With `Accept: text/event-stream` the analysis streams as server-sent events: `status` (first `waiting_for_store` when the dataset's store is still loading: the analysis waits up to ANALYSIS_WAIT_FOR_STORE_MS, then runs on the profile alone, without charts, and its summary says so), then `insight` and `chart` events as each is ready (a chart once its spec has run over every row), then `done` (with `analysisId`) or `problem` (a problem document; named so, not `error`, because EventSource fires its own `error` on a dropped connection); a `: heartbeat` comment every SSE_HEARTBEAT_SECONDS. A `status` of `repairing` means the model's first answer failed validation: discard what it showed and follow the second. Otherwise, with `Prefer: respond-async`, or for a dataset above ANALYSIS_ASYNC_BYTES, the answer is 202 with `Location: /api/v1/analyses/{id}` and the job runs on the queue; follow it there or on `GET /sessions/{id}/events`.",
  ...authed,
  request: {
    params: IdParam,
    headers: z.object({
      prefer: z.string().max(200).optional().openapi({ description: "`respond-async` queues the job even for a stream" }),
    }),
    body: jsonBody(
      z
        .object({
          question: Text.trim().min(1).max(2_000).optional().openapi({ description: "What to focus on" }),
          engine: z
            .enum(["auto", "openai", "statistical"])
            .default("auto")
            .openapi({ description: "`auto`: the model when one is configured, else the statistical engine" }),
        })
        .strict(),
    ),
  },
  responses: {
    200: { description: "The analysis as an event stream", content: { "text/event-stream": { schema: z.string() } } },
    202: {
      description: "Queued: follow Location",
      headers: z.object({ Location: z.string() }),
      content: { "application/json": { schema: Analysis } },
    },
    ...problemResponses(400, 401, 402, 403, 404, 409, 415, 422, 429, 503),
  },
});

export const get = createRoute({
  method: "get",
  path: "/analyses/{id}",
  operationId: "getAnalysis",
  tags: ["Analyses"],
  summary: "One analysis: status, result, charts, model, tokens, timings",
  ...authed,
  request: { params: IdParam },
  responses: {
    200: { description: "The analysis", content: { "application/json": { schema: Analysis } } },
    ...problemResponses(400, 401, 404),
  },
});

export const list = createRoute({
  method: "get",
  path: "/sessions/{id}/analyses",
  operationId: "listAnalyses",
  tags: ["Analyses"],
  summary: "A session's analyses, newest first",
  ...authed,
  request: { params: IdParam, query: PageQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(Analysis) } } },
    ...problemResponses(400, 401, 404),
  },
});

const ChartRerun = z
  .object({
    index: z.number().int().openapi({ description: "The chart's position in the analysis" }),
    title: z.string(),
    status: z.enum(["identical", "different", "not_rerunnable", "failed"]).openapi({
      description:
        "identical: the same rows in the same order; different: `rows` holds the new result; not_rerunnable: the chart was saved without a query (before charts carried one); failed: `problem` says why (the store not ready, a timeout)",
    }),
    identical: z.boolean(),
    rowCount: z.number().int().nullable().openapi({ description: "Rows the rerun kept (the chart's limit, at most 500)" }),
    rows: z
      .array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])))
      .optional()
      .openapi({ description: "The new rows, only when they differ" }),
    problem: z.object({ code: z.string(), detail: z.string() }).optional(),
  })
  .openapi("ChartRerun");

export const AnalysisRerun = z
  .object({
    analysisId: z.uuid(),
    dataset: ChartDataset,
    identical: z.boolean().openapi({ description: "Whether every chart's rerun gave exactly its saved rows" }),
    charts: z.array(ChartRerun),
    rerunAt: Timestamp,
  })
  .openapi("AnalysisRerun");

export const rerun = createRoute({
  method: "post",
  path: "/analyses/{id}/rerun",
  operationId: "rerunAnalysis",
  tags: ["Analyses"],
  summary: "Re-execute every saved chart query against the same dataset version and say whether each result is identical",
  description:
    "Members and above (a viewer is 403). Each chart's saved `query` runs again in the store of the dataset version it names, bypassing the result cache; the answer compares the new rows with the chart's `data`, in order. Nothing is saved.",
  ...authed,
  request: { params: IdParam },
  responses: {
    200: { description: "Per chart, identical or the new rows", content: { "application/json": { schema: AnalysisRerun } } },
    ...problemResponses(400, 401, 403, 404, 409),
  },
});
