// Cron job: analysis jobs whose heartbeat stopped (their Worker was evicted) or whose message was lost go back on the queue.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { RECOVER_AFTER_SECONDS } from "../queues/analyses/liveness.ts";
import type { AnalysisMessage } from "../queues/analyses/message.ts";
import type { Config } from "../env.ts";
import type { Logger } from "../lib/logger.ts";
import type { Problem } from "../lib/problem.ts";
import { analysisProblem } from "../services/analysis/store.ts";
import { emitEvent } from "../services/webhooks/events.ts";

export interface RecoverOptions {
  /** A running job silent this long is presumed dead and requeued (RECOVER_AFTER_SECONDS: see there why it is not the consumer's). */
  staleSeconds?: number;
  /** A queued job untouched this long presumably lost its message. */
  lostSeconds?: number;
  /** Jobs already tried this often fail instead of going round again. */
  maxAttempts?: number;
  batchSize?: number;
  /** Where `analysis.failed` webhooks go for the jobs failed here (the scheduled handler's configuration and logger). */
  events?: { config: Config; logger: Logger };
}

export async function recoverAnalyses(
  db: Database,
  queue: Queue,
  { staleSeconds = RECOVER_AFTER_SECONDS, lostSeconds = 600, maxAttempts = 4, batchSize = 100, events }: RecoverOptions = {},
) {
  // One document for the whole sweep; each row gets its own instance below.
  const abandoned = JSON.stringify(
    analysisProblem("", "cron", 502, { code: "ANALYSIS_ABANDONED", detail: "The analysis stopped answering on every attempt." }),
  );
  // Out of attempts: failed for good, in the same statement that finds them.
  const failed = await db.execute<{ id: string; org_id: string; session_id: string; error: Problem | null }>(sql`
    UPDATE analyses SET status = 'failed', finished_at = now(), heartbeat_at = NULL, error = coalesce(error, jsonb_set(${abandoned}::jsonb, '{instance}', to_jsonb('/api/v1/analyses/' || id)))
    WHERE id IN (SELECT id FROM analyses WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => ${staleSeconds}) AND attempts >= ${maxAttempts} LIMIT ${batchSize})
    RETURNING id, org_id, session_id, error`);
  if (events) {
    for (const row of failed.rows)
      await emitEvent(events, row.org_id, "analysis.failed", { analysisId: row.id, sessionId: row.session_id, error: row.error });
  }
  // The rest: queued again (stamped, so the next run does not send them twice) and sent.
  const requeued = await db.execute<{ id: string }>(sql`
    UPDATE analyses SET status = 'queued', heartbeat_at = now()
    WHERE id IN (
      (SELECT id FROM analyses WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => ${staleSeconds}) LIMIT ${batchSize})
      UNION ALL
      (SELECT id FROM analyses WHERE status = 'queued' AND created_at < now() - make_interval(secs => ${lostSeconds})
         AND coalesce(heartbeat_at, created_at) < now() - make_interval(secs => ${lostSeconds}) LIMIT ${batchSize}))
    RETURNING id`);
  if (requeued.rows.length > 0) {
    await queue.sendBatch(
      requeued.rows.map((row) => ({
        body: { analysisId: row.id, requestId: "cron" } satisfies AnalysisMessage,
        contentType: "json" as const,
      })),
    );
  }
  return { failed: failed.rowCount ?? 0, requeued: requeued.rows.length };
}
