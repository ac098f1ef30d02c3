// One analysis from start to record: run it, tell the session's room (and the caller) as it goes, save the outcome.
import type { Database } from "../../db/client.ts";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { toApiError } from "../../lib/handle-error.ts";
import { ApiError, problemBody, type Problem } from "../../lib/problem.ts";
import { publish } from "../../durable-objects/session-room/room.ts";
import { type AnalysisEvent, type AnalysisInput, runAnalysis } from "./run.ts";
import { saveSucceeded } from "./store.ts";
import { emitEvent } from "../webhooks/events.ts";

export interface ExecuteContext {
  config: Config;
  db: Database;
  logger: Logger;
  /** For the problem document of a failure. */
  requestId: string;
}

export type Finished = { ok: true; summary: string } | { ok: false; problem: Problem; error: ApiError };

/**
 * Runs analysis `id` of `sessionId`. Every event goes to the room and to `onEvent` (the request's
 * own stream, when there is one). A success is saved (analysis and charts in one batch) and
 * announced with `done`; a failure is returned for the caller to record or retry.
 */
export async function executeAnalysis(
  ctx: ExecuteContext,
  analysis: { id: string; sessionId: string },
  input: AnalysisInput,
  onEvent: (type: string, data: unknown) => Promise<void> = async () => {},
): Promise<Finished> {
  const send = async (type: string, data: unknown) => {
    const payload = { analysisId: analysis.id, ...(data as object) };
    await Promise.all([publish(ctx.config, ctx.logger, analysis.sessionId, type, payload), onEvent(type, payload)]);
  };
  try {
    const outcome = await runAnalysis(ctx.config, ctx.logger, input, (event: AnalysisEvent) => send(event.type, event.data));
    const saved = await saveSucceeded(ctx.db, analysis.id, outcome);
    if (!saved) throw new ApiError(409, { code: "CONFLICT", detail: "The analysis was finished elsewhere (a duplicate run)." });
    await emitEvent(ctx, input.dataset.orgId, "analysis.succeeded", {
      analysisId: analysis.id,
      sessionId: analysis.sessionId,
      engine: input.engine,
      summary: outcome.result.summary,
    });
    await send("done", {
      status: "succeeded",
      summary: outcome.result.summary,
      insights: outcome.result.insights.length,
      charts: outcome.result.charts.length,
      usage: outcome.usage,
    });
    return { ok: true, summary: outcome.result.summary };
  } catch (caught) {
    const error = toApiError(caught, ctx.logger, ctx.requestId);
    return { ok: false, error, problem: problemBody(error, `/api/v1/analyses/${analysis.id}`, ctx.requestId) };
  }
}
