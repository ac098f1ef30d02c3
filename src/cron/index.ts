// The scheduled handler: every cron trigger runs each job; one failing does not stop the others.
import { createDb } from "../db/client.ts";
import { loadConfig } from "../env.ts";
import { createLogger, describeError } from "../lib/logger.ts";
import { cleanupAuthSessions } from "./cleanup-auth-sessions.ts";
import { cleanupVerificationTokens } from "./cleanup-verification-tokens.ts";
import { purgeDeleted } from "./purge-deleted.ts";
import { recoverAnalyses } from "./recover-analyses.ts";
import { requeueDatasetLoads } from "./requeue-dataset-loads.ts";

export async function scheduled(controller: ScheduledController, env: Cloudflare.Env, _ctx: ExecutionContext): Promise<void> {
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    console.error(JSON.stringify({ level: "error", message: "configuration invalid", problems: loaded.problems }));
    return;
  }
  const logger = createLogger(loaded.config.LOG_LEVEL, { cron: controller.cron });
  const db = createDb(loaded.config);
  const jobs = {
    cleanupAuthSessions: () => cleanupAuthSessions(db),
    cleanupVerificationTokens: () => cleanupVerificationTokens(db),
    purgeDeleted: () => purgeDeleted(db, loaded.config.DATASETS, { retentionDays: loaded.config.RETENTION_DAYS, stores: loaded.config.DATASET_STORES }),
    recoverAnalyses: () => recoverAnalyses(db, loaded.config.ANALYSIS_QUEUE),
    requeueDatasetLoads: () => requeueDatasetLoads(db, loaded.config.DATASET_LOAD_QUEUE),
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
