// The scheduled handler: every cron trigger runs each job; one failing does not stop the others.
import { describeError } from "../lib/logger.ts";
import { startHandler } from "../lib/start-handler.ts";
import { cleanupAuthSessions } from "./cleanup-auth-sessions.ts";
import { cleanupVerificationTokens } from "./cleanup-verification-tokens.ts";
import { expireUploads } from "./expire-uploads.ts";
import { purgeDeleted } from "./purge-deleted.ts";
import { purgeQueryHistory } from "./purge-query-history.ts";
import { purgeWebhookDeliveries } from "./purge-webhook-deliveries.ts";
import { recoverAnalyses } from "./recover-analyses.ts";
import { requeueDatasetLoads } from "./requeue-dataset-loads.ts";
import { runRefreshes } from "./run-refreshes.ts";

export async function scheduled(controller: ScheduledController, env: Cloudflare.Env, _ctx: ExecutionContext): Promise<void> {
  const started = startHandler(env, { cron: controller.cron });
  if (!started) return;
  const { config, logger, db } = started;
  const jobs = {
    cleanupAuthSessions: () => cleanupAuthSessions(db),
    cleanupVerificationTokens: () => cleanupVerificationTokens(db),
    purgeDeleted: () => purgeDeleted(db, config.DATASETS, { retentionDays: config.RETENTION_DAYS, stores: config.DATASET_STORES }),
    recoverAnalyses: () => recoverAnalyses(db, config.ANALYSIS_QUEUE, { events: { config, logger } }),
    requeueDatasetLoads: () => requeueDatasetLoads(db, config.DATASET_LOAD_QUEUE),
    expireUploads: () => expireUploads(db, config.DATASETS, config.DATASET_INGEST_QUEUE),
    purgeWebhookDeliveries: () => purgeWebhookDeliveries(db, { retentionDays: config.RETENTION_DAYS }),
    purgeQueryHistory: () => purgeQueryHistory(db, { days: config.QUERY_HISTORY_DAYS }),
    runRefreshes: () => runRefreshes(db, config, logger),
  };
  for (const [name, job] of Object.entries(jobs)) {
    const started = performance.now();
    try {
      const result = await job();
      logger.info("cron job", { job: name, durationMs: Math.round(performance.now() - started), ...result });
    } catch (error) {
      logger.error("cron job failed", { job: name, ...describeError(error) });
    }
  }
}
