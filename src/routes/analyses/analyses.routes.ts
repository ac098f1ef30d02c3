// Route definitions for analyses: run one on a session (SSE stream or queued job), read one, list a session's.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { Problem } from "../../lib/problem.ts";
import { Chart, Insight } from "../../services/analysis/result.ts";
import { IdParam, Text, Timestamp } from "../schemas.ts";

export const Analysis = z
  .object({
    id: z.uuid(),
    sessionId: z.uuid(),
    status: z.enum(["queued", "running", "succeeded", "failed"]),
    mode: z.enum(["stream", "queue"]),
    engine: z.enum(["openai", "statistical"]).openapi({ description: '"statistical" when no model is configured (or asked for): deterministic, from the profile and rows' }),
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
    "With `Accept: text/event-stream` the analysis streams as server-sent events: `status`, then `insight` and `chart` events as each is ready, then `done` (with `analysisId`) or `problem` (a problem document; named so, not `error`, because EventSource fires its own `error` on a dropped connection); a `: heartbeat` comment every SSE_HEARTBEAT_SECONDS. A `status` of `repairing` means the model's first answer failed validation: discard what it showed and follow the second. Otherwise, with `Prefer: respond-async`, or for a dataset above ANALYSIS_ASYNC_BYTES, the answer is 202 with `Location: /api/v1/analyses/{id}` and the job runs on the queue; follow it there or on `GET /sessions/{id}/events`.",
  ...authed,
  request: {
    params: IdParam,
    headers: z.object({ prefer: z.string().max(200).optional().openapi({ description: "`respond-async` queues the job even for a stream" }) }),
    body: jsonBody(
      z
        .object({
          question: Text.trim().min(1).max(2_000).optional().openapi({ description: "What to focus on" }),
          engine: z.enum(["auto", "openai", "statistical"]).default("auto").openapi({ description: "`auto`: the model when one is configured, else the statistical engine" }),
        })
        .strict(),
    ),
  },
  responses: {
    200: { description: "The analysis as an event stream", content: { "text/event-stream": { schema: z.string() } } },
    202: { description: "Queued: follow Location", headers: z.object({ Location: z.string() }), content: { "application/json": { schema: Analysis } } },
    ...problemResponses(400, 401, 403, 404, 409, 415, 422, 429, 503),
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
  responses: { 200: { description: "The analysis", content: { "application/json": { schema: Analysis } } }, ...problemResponses(400, 401, 404) },
});

export const list = createRoute({
  method: "get",
  path: "/sessions/{id}/analyses",
  operationId: "listAnalyses",
  tags: ["Analyses"],
  summary: "A session's analyses, newest first",
  ...authed,
  request: { params: IdParam, query: PageQuery },
  responses: { 200: { description: "A page", content: { "application/json": { schema: pageSchema(Analysis) } } }, ...problemResponses(400, 401, 404) },
});
