// Analyses: start one (streamed over SSE or queued), read one with its charts, list a session's.
import { and, eq, inArray } from "drizzle-orm";
import { analyses, charts, datasets } from "../../db/schema.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { ApiError, problemBody } from "../../lib/problem.ts";
import { eventStream, wantsEventStream } from "../../lib/sse.ts";
import { requireAnalysis, requireSession } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { waitUntil } from "../../lib/wait-until.ts";
import { principalOf } from "../../lib/principal.ts";
import { publish } from "../../durable-objects/session-room/room.ts";
import { executeAnalysis } from "../../services/analysis/execute.ts";
import { estimateTokens } from "../../services/analysis/prompt.ts";
import { rerunCharts } from "../../services/analysis/rerun.ts";
import type { Chart } from "../../services/analysis/result.ts";
import { type Analysis, failedEvent, presentAnalysis, saveFailed } from "../../services/analysis/store.ts";
import { emitEvent } from "../../services/webhooks/events.ts";
import { chooseEngine, spendModelBudget } from "../../services/llm/budget.ts";
import { dataPolicyOf } from "../../services/llm/data-policy.ts";
import { datasetInput } from "../../services/analysis/dataset-input.ts";
import type { AnalysisMessage } from "../../queues/analyses/message.ts";
import type * as routes from "./analyses.routes.ts";

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { id } = c.req.valid("param");
  const { question, engine: asked } = c.req.valid("json");
  const { session, dataset } = await requireSession(c, id, "analyses:run");
  if (dataset.deletedAt) throw new ApiError(409, { detail: "The session's dataset has been deleted; open a session on another dataset." });
  const config = c.get("config");
  const engine = chooseEngine(c, asked);
  if (engine === "openai") await spendModelBudget(c, 8_000 + estimateTokens(question ?? ""));

  const queued =
    !wantsEventStream(c.req.header("Accept")) ||
    /\brespond-async\b/i.test(c.req.header("Prefer") ?? "") ||
    dataset.sizeBytes > config.ANALYSIS_ASYNC_BYTES;
  const db = c.get("services").db;
  const [analysis] = (await db
    .insert(analyses)
    .values({
      id: crypto.randomUUID(),
      sessionId: session.id,
      orgId: session.orgId,
      status: queued ? "queued" : "running",
      mode: queued ? "queue" : "stream",
      engine,
      model: engine === "openai" ? config.OPENAI_MODEL : null,
      question: question ?? null,
      attempts: queued ? 0 : 1,
      createdBy: principalOf(c).userId,
      ...(queued ? {} : { startedAt: new Date(), heartbeatAt: new Date() }),
    })
    .returning()) as [Analysis];
  c.set("auditTarget", { type: "analyses", id: analysis.id });
  const logger = c.get("logger");

  if (queued) {
    const message: AnalysisMessage = { analysisId: analysis.id, requestId: c.get("requestId"), traceparent: c.get("trace").traceparent };
    try {
      await config.ANALYSIS_QUEUE.send(message, { contentType: "json" });
    } catch (error) {
      const refused = new ApiError(503, {
        code: "SERVICE_UNAVAILABLE",
        detail: "The analysis queue is unavailable; retry shortly.",
        headers: { "Retry-After": "5" },
        cause: error,
      });
      const failed = await saveFailed(db, analysis.id, problemBody(refused, `/api/v1/analyses/${analysis.id}`, c.get("requestId")));
      if (failed) await emitEvent(c, failed.orgId, "analysis.failed", failedEvent(failed));
      throw refused;
    }
    waitUntil(c, publish(config, logger, session.id, "status", { analysisId: analysis.id, status: "queued", engine }));
    c.header("Location", `/api/v1/analyses/${analysis.id}`);
    return c.json(presentAnalysis(analysis, []), 202);
  }

  const input = {
    dataset: {
      ...datasetInput(dataset),
      // What the prompt may show of the data (the organization's llmDataPolicy).
      policy: engine === "openai" ? await dataPolicyOf(db, dataset.orgId) : undefined,
    },
    question: question ?? null,
    engine,
    timeoutMs: config.OPENAI_TIMEOUT_MS,
    traceparent: c.get("trace").traceparent,
  };
  const requestId = c.get("requestId");
  return eventStream(c, config.SSE_HEARTBEAT_SECONDS, async (send) => {
    // The work outlives a client that goes away: the analysis is still saved for the others.
    const work = (async () => {
      const finished = await executeAnalysis({ config, db, logger, requestId }, { id: analysis.id, sessionId: session.id }, input, send);
      if (!finished.ok) {
        const failed = await saveFailed(db, analysis.id, finished.problem);
        if (failed) await emitEvent({ config, logger }, failed.orgId, "analysis.failed", failedEvent(failed));
        const event = { analysisId: analysis.id, ...finished.problem };
        await Promise.all([publish(config, logger, session.id, "problem", event), send("problem", event)]);
      }
    })();
    waitUntil(c, work);
    await work;
  });
};

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { analysis, charts: stored } = await requireAnalysis(c, c.req.valid("param").id, "sessions:read");
  return c.json(presentAnalysis(analysis, stored), 200);
};

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { limit, cursor } = c.req.valid("query");
  const { session } = await requireSession(c, c.req.valid("param").id, "sessions:read");
  const page = keyset(analyses.createdAt, analyses.id, cursor);
  const db = c.get("services").db;
  const rows = await db
    .select()
    .from(analyses)
    .where(and(eq(analyses.sessionId, session.id), page.after))
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.createdAt, id: row.id }));
  const chartRows = data.length
    ? await db
        .select()
        .from(charts)
        .where(
          inArray(
            charts.analysisId,
            data.map((row) => row.id),
          ),
        )
    : [];
  return c.json(
    {
      data: data.map((row) =>
        presentAnalysis(
          row,
          chartRows.filter((chart) => chart.analysisId === row.id),
        ),
      ),
      nextCursor,
    },
    200,
  );
};

export const rerun: AppRouteHandler<typeof routes.rerun> = async (c) => {
  // The member role: rerunning executes queries, as running an analysis does (another tenant is a 404).
  const { analysis, charts: stored } = await requireAnalysis(c, c.req.valid("param").id, "analyses:run");
  const { dataset } = await requireSession(c, analysis.sessionId, "analyses:run");
  if (analysis.status !== "succeeded")
    throw new ApiError(409, {
      code: "CONFLICT",
      detail: `The analysis is ${analysis.status}; only a succeeded analysis has charts to rerun.`,
    });
  const configs = stored.sort((a, b) => a.position - b.position).map((chart) => chart.config as Partial<Chart>);
  // Charts name the dataset version they were drawn from: its type overrides (if any) name the store they reran on.
  const drawnFrom = [...new Set(configs.map((chart) => chart.dataset?.id).filter((id): id is string => typeof id === "string"))];
  const versions = drawnFrom.length
    ? await c
        .get("services")
        .db.select({ id: datasets.id, parseOptions: datasets.parseOptions })
        .from(datasets)
        .where(and(eq(datasets.orgId, analysis.orgId), inArray(datasets.id, drawnFrom)))
    : [];
  const parseOptions = new Map(versions.map((version) => [version.id, version.parseOptions]));
  const charts = await rerunCharts(c.get("config"), analysis.orgId, configs, (id) => parseOptions.get(id));
  return c.json(
    {
      analysisId: analysis.id,
      dataset: { id: dataset.id, version: dataset.version, sha256: dataset.sha256 },
      identical: charts.every((chart) => chart.identical),
      charts,
      rerunAt: new Date().toISOString(),
    },
    200,
  );
};
