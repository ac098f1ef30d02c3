// Saving analyses: a success (the analysis and its charts) in one batch; a failure with its problem.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { analyses, type charts } from "../../db/schema.ts";
import { ApiError, type ApiErrorOptions, problemBody, type Problem } from "../../lib/problem.ts";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Chart, Insight } from "./result.ts";
import type { AnalysisOutcome } from "./run.ts";

export type Analysis = typeof analyses.$inferSelect;
export type StoredChart = typeof charts.$inferSelect;

/** Records a success: only an analysis still running takes it, so a late duplicate changes nothing. */
export async function saveSucceeded(db: Database, id: string, outcome: AnalysisOutcome): Promise<boolean> {
  const rows = outcome.result.charts.map((chart, position) => ({
    id: crypto.randomUUID(),
    analysisId: id,
    position,
    type: chart.type,
    title: chart.title,
    config: chart,
  }));
  const running = and(eq(analyses.id, id), eq(analyses.status, "running"));
  const [updated] = await db.batch([
    db
      .update(analyses)
      .set({
        status: "succeeded",
        summary: outcome.result.summary,
        insights: outcome.result.insights,
        model: outcome.model,
        promptTokens: outcome.usage.promptTokens,
        completionTokens: outcome.usage.completionTokens,
        error: null,
        finishedAt: sql`now()`,
        heartbeatAt: null,
      })
      .where(running)
      .returning({ id: analyses.id }),
    // Inserted only if the update above took: the same statement batch, gated on the new status.
    ...(rows.length > 0
      ? [
          db.execute(sql`
            INSERT INTO charts (id, analysis_id, position, type, title, config)
            SELECT c.id::uuid, c.analysis_id::uuid, c.position, c.type, c.title, c.config
            FROM jsonb_to_recordset(${JSON.stringify(rows.map((row) => ({ ...row, analysis_id: row.analysisId })))}::jsonb)
              AS c(id text, analysis_id text, position int, type text, title text, config jsonb)
            WHERE EXISTS (SELECT 1 FROM analyses WHERE id = ${id} AND status = 'succeeded')
            ON CONFLICT (analysis_id, position) DO NOTHING`),
        ]
      : []),
  ]);
  return updated.length > 0;
}

/** The problem document recorded on analysis `id` when it fails outside a request (a queue job, the cron). */
export const analysisProblem = (id: string, requestId: string, status: ContentfulStatusCode, options: ApiErrorOptions): Problem =>
  problemBody(new ApiError(status, options), `/api/v1/analyses/${id}`, requestId);

/** Records a failure with the problem that ended it (a finished analysis is left as it was); the analysis if it changed. */
export async function saveFailed(db: Database, id: string, problem: Problem): Promise<Analysis | undefined> {
  const [failed] = await db
    .update(analyses)
    .set({ status: "failed", error: problem, finishedAt: sql`now()`, heartbeatAt: null })
    .where(and(eq(analyses.id, id), inArray(analyses.status, ["queued", "running"])))
    .returning();
  return failed;
}

/** The `analysis.failed` webhook's data. */
export const failedEvent = (analysis: Analysis) => ({
  analysisId: analysis.id,
  sessionId: analysis.sessionId,
  error: analysis.error as Problem | null,
});

const iso = (date: Date | null) => date?.toISOString() ?? null;

/** An analysis as the API shows it, with its charts in order. */
export function presentAnalysis(analysis: Analysis, stored: StoredChart[]) {
  return {
    id: analysis.id,
    sessionId: analysis.sessionId,
    status: analysis.status,
    mode: analysis.mode,
    engine: analysis.engine,
    model: analysis.model,
    question: analysis.question,
    summary: analysis.summary,
    insights: (analysis.insights ?? []) as Insight[],
    charts: stored.sort((a, b) => a.position - b.position).map((chart) => chart.config as Chart),
    usage: { promptTokens: analysis.promptTokens, completionTokens: analysis.completionTokens },
    error: analysis.error as Problem | null,
    attempts: analysis.attempts,
    createdAt: analysis.createdAt.toISOString(),
    startedAt: iso(analysis.startedAt),
    finishedAt: iso(analysis.finishedAt),
    durationMs: analysis.startedAt && analysis.finishedAt ? analysis.finishedAt.getTime() - analysis.startedAt.getTime() : null,
  };
}
