// The analysis queue's consumer: claims each job once, runs it with heartbeats, retries with backoff, records the outcome.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { analyses, analysisSessions, datasets } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { publish } from "../../durable-objects/session-room/room.ts";
import { executeAnalysis } from "../../services/analysis/execute.ts";
import { analysisProblem, failedEvent, saveFailed } from "../../services/analysis/store.ts";
import { emitEvent } from "../../services/webhooks/events.ts";
import { dataPolicyOf } from "../../services/llm/data-policy.ts";
import { datasetInput } from "../../services/analysis/dataset-input.ts";
import { HEARTBEAT_MS, STALE_AFTER_SECONDS } from "./liveness.ts";
import { AnalysisMessage } from "./message.ts";
import { traceContext } from "../../lib/trace-context.ts";

/** Failures worth another delivery: the model or a dependency was unwell, not the request or its answer. */
const retryable = new Set(["MODEL_TIMEOUT", "MODEL_ERROR", "MODEL_UNAVAILABLE", "DEPENDENCY_UNAVAILABLE", "SERVICE_UNAVAILABLE"]);

/** 10 s, 20 s, 40 s… capped at 5 minutes; or what the breaker's Retry-After says. */
const backoffSeconds = (attempts: number, retryAfter?: string) =>
  Math.max(Number(retryAfter) || 0, Math.min(300, 10 * 2 ** Math.max(0, attempts - 1)));

/**
 * Claims analysis `id` for this delivery: only a queued job, or a running one whose heartbeat has
 * stopped. A redelivered message for a job that is done (or alive elsewhere) claims nothing.
 */
async function claim(db: Database, id: string) {
  const [claimed, context] = await db.batch([
    db
      .update(analyses)
      .set({
        status: "running",
        attempts: sql`${analyses.attempts} + 1`,
        startedAt: sql`coalesce(${analyses.startedAt}, now())`,
        heartbeatAt: sql`now()`,
      })
      .where(
        and(
          eq(analyses.id, id),
          sql`(${analyses.status} = 'queued' OR (${analyses.status} = 'running' AND ${analyses.heartbeatAt} < now() - make_interval(secs => ${STALE_AFTER_SECONDS})))`,
        ),
      )
      .returning(),
    db
      .select({ dataset: datasets })
      .from(analyses)
      .innerJoin(analysisSessions, eq(analysisSessions.id, analyses.sessionId))
      .innerJoin(datasets, eq(datasets.id, analysisSessions.datasetId))
      .where(eq(analyses.id, id)),
  ]);
  const analysis = claimed[0];
  const dataset = context[0]?.dataset;
  return analysis && dataset ? { analysis, dataset } : null;
}

export async function handleAnalysisMessage(message: Message<unknown>, config: Config, db: Database, logger: Logger): Promise<void> {
  const parsed = AnalysisMessage.safeParse(message.body);
  if (!parsed.success) {
    logger.error("analysis message malformed; dropped", { messageId: message.id });
    message.ack();
    return;
  }
  const { analysisId, requestId = message.id } = parsed.data;
  // A span of its own in the queuing request's trace (or a new trace for a message from before traces were sent).
  const { traceparent } = traceContext(parsed.data.traceparent);
  const job = await claim(db, analysisId);
  if (!job) {
    logger.info("analysis already taken or finished; duplicate delivery acknowledged", { analysisId, attempts: message.attempts });
    message.ack();
    return;
  }
  const { analysis, dataset } = job;
  const heartbeat = setInterval(() => {
    void db
      .update(analyses)
      .set({ heartbeatAt: sql`now()` })
      .where(and(eq(analyses.id, analysisId), eq(analyses.status, "running")))
      .catch(() => {});
  }, HEARTBEAT_MS);
  try {
    if (dataset.deletedAt) {
      const problem = analysisProblem(analysisId, requestId, 409, { code: "CONFLICT", detail: "The session's dataset has been deleted." });
      const failed = await saveFailed(db, analysisId, problem);
      if (failed) await emitEvent({ config, logger }, failed.orgId, "analysis.failed", failedEvent(failed));
      await publish(config, logger, analysis.sessionId, "problem", { analysisId, ...problem });
      message.ack();
      return;
    }
    const input = {
      dataset: {
        ...datasetInput(dataset),
        // What the prompt may show of the data (the organization's llmDataPolicy, read when the job runs).
        policy: analysis.engine === "openai" ? await dataPolicyOf(db, dataset.orgId) : undefined,
      },
      question: analysis.question,
      engine: analysis.engine,
      timeoutMs: config.OPENAI_QUEUE_TIMEOUT_MS,
      traceparent,
    };
    const finished = await executeAnalysis({ config, db, logger, requestId }, { id: analysisId, sessionId: analysis.sessionId }, input);
    if (finished.ok) {
      message.ack();
      return;
    }
    if (retryable.has(finished.error.code)) {
      // Back in the queue with its error on record: the dead-letter consumer makes it final if this was the last try.
      await db
        .update(analyses)
        .set({ status: "queued", error: finished.problem, heartbeatAt: null })
        .where(and(eq(analyses.id, analysisId), eq(analyses.status, "running")));
      const delaySeconds = backoffSeconds(message.attempts, finished.error.headers["Retry-After"]);
      await publish(config, logger, analysis.sessionId, "status", {
        analysisId,
        status: "retrying",
        attempt: message.attempts,
        delaySeconds,
        error: finished.problem,
      });
      message.retry({ delaySeconds });
      return;
    }
    const failed = await saveFailed(db, analysisId, finished.problem);
    if (failed) await emitEvent({ config, logger }, failed.orgId, "analysis.failed", failedEvent(failed));
    await publish(config, logger, analysis.sessionId, "problem", finished.problem);
    message.ack();
  } finally {
    clearInterval(heartbeat);
  }
}

/** The dead-letter queue: a job out of retries fails for good, with the last error it recorded. */
export async function handleDeadLetter(message: Message<unknown>, config: Config, db: Database, logger: Logger): Promise<void> {
  const parsed = AnalysisMessage.safeParse(message.body);
  if (!parsed.success) {
    message.ack();
    return;
  }
  const { analysisId, requestId = message.id } = parsed.data;
  const exhausted = analysisProblem(analysisId, requestId, 502, {
    code: "ANALYSIS_ABANDONED",
    detail: "The analysis failed on every retry.",
  });
  const [failed] = await db
    .update(analyses)
    .set({
      status: "failed",
      finishedAt: sql`now()`,
      heartbeatAt: null,
      error: sql`coalesce(${analyses.error}, ${JSON.stringify(exhausted)}::jsonb)`,
    })
    .where(and(eq(analyses.id, analysisId), inArray(analyses.status, ["queued", "running"])))
    .returning();
  if (failed) {
    logger.warn("analysis dead-lettered", { analysisId, attempts: failed.attempts });
    await emitEvent({ config, logger }, failed.orgId, "analysis.failed", failedEvent(failed));
    await publish(config, logger, failed.sessionId, "problem", { analysisId, ...(failed.error ?? exhausted) });
  }
  message.ack();
}
