// Cron job: runs the scheduled data-source imports that are due (oldest due first, a few per run), each a new dataset version,
// and re-runs a session's analysis on it when the schedule asks; the outcome (status, error, dataset, next run) is recorded.
import { and, asc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { analyses, analysisSessions, dataRefreshes, dataSources, organizations, projects } from "../db/schema.ts";
import type { Config } from "../env.ts";
import type { Logger } from "../lib/logger.ts";
import { ApiError } from "../lib/problem.ts";
import type { Dataset } from "../lib/tenancy.ts";
import type { AnalysisMessage } from "../queues/analyses/message.ts";
import { importInto, refreshRows } from "../services/data-sources/import.ts";

export interface RefreshOptions {
  /** Imports per run: each reads a source and writes a dataset, so a run stays well inside the cron's time. */
  batchSize?: number;
  /** A claim older than this is a run that died: the schedule is taken again. */
  staleMinutes?: number;
}

type Refresh = typeof dataRefreshes.$inferSelect;

/** Seconds between runs, by schedule (SQL, over the row's own column). */
const period = sql`CASE ${dataRefreshes.schedule} WHEN 'hourly' THEN 3600 WHEN 'daily' THEN 86400 ELSE 604800 END`;

/**
 * Claims up to `batchSize` due schedules in one statement: FOR UPDATE SKIP LOCKED over the oldest due, setting running_since
 * and moving next_run_at to the first slot after now (a schedule that missed slots runs once, not once per slot). Two runs at
 * once never claim one schedule, and a failed run waits for its next slot rather than retrying every minute.
 */
async function claim(db: Database, batchSize: number, staleMinutes: number): Promise<Refresh[]> {
  const due = db
    .select({ id: dataRefreshes.id })
    .from(dataRefreshes)
    .where(
      and(
        lte(dataRefreshes.nextRunAt, sql`now()`),
        or(isNull(dataRefreshes.runningSince), lte(dataRefreshes.runningSince, sql`now() - make_interval(mins => ${staleMinutes})`)),
      ),
    )
    .orderBy(asc(dataRefreshes.nextRunAt), asc(dataRefreshes.id))
    .limit(batchSize)
    .for("update", { skipLocked: true });
  return db
    .update(dataRefreshes)
    .set({
      runningSince: sql`now()`,
      nextRunAt: sql`${dataRefreshes.nextRunAt} + make_interval(secs => ${period} * (floor(extract(epoch FROM now() - ${dataRefreshes.nextRunAt}) / ${period}) + 1))`,
    })
    .where(inArray(dataRefreshes.id, due))
    .returning();
}

/** Why a run failed, in words a client may see (an ApiError's detail; never a stack). */
const reasonOf = (error: unknown) =>
  (error instanceof ApiError ? String(error.detail ?? error.message) : error instanceof Error ? error.message : String(error)).slice(
    0,
    1_000,
  );

/**
 * The session follows the refreshed dataset (its dataset becomes the new version) and gets a queued analysis, asking what its
 * latest analysis asked, with the statistical engine (a scheduled run spends no model budget); null when the session is gone.
 */
async function rerunAnalysis(db: Database, config: Config, refresh: Refresh, dataset: Dataset): Promise<string | null> {
  if (!refresh.rerunSessionId) return null;
  const [session] = await db
    .update(analysisSessions)
    .set({ datasetId: dataset.id, version: sql`${analysisSessions.version} + 1`, updatedAt: sql`now()` })
    .where(
      and(
        eq(analysisSessions.id, refresh.rerunSessionId),
        eq(analysisSessions.projectId, refresh.projectId),
        isNull(analysisSessions.deletedAt),
      ),
    )
    .returning({ id: analysisSessions.id, orgId: analysisSessions.orgId });
  if (!session) return null;
  const [latest] = await db
    .select({ question: analyses.question })
    .from(analyses)
    .where(eq(analyses.sessionId, session.id))
    .orderBy(sql`${analyses.createdAt} DESC`)
    .limit(1);
  const id = crypto.randomUUID();
  await db.insert(analyses).values({
    id,
    sessionId: session.id,
    orgId: session.orgId,
    status: "queued",
    mode: "queue",
    engine: "statistical",
    model: null,
    question: latest?.question ?? null,
    attempts: 0,
    createdBy: refresh.createdBy,
  });
  await config.ANALYSIS_QUEUE.send({ analysisId: id } satisfies AnalysisMessage, { contentType: "json" });
  return id;
}

/** One claimed schedule: read the source, save the version, maybe re-run the analysis; record what happened. */
async function runOne(db: Database, config: Config, logger: Logger, refresh: Refresh) {
  try {
    const [found] = await db
      .select({ source: dataSources, project: { id: projects.id, orgId: projects.orgId } })
      .from(dataSources)
      .innerJoin(projects, and(eq(projects.id, refresh.projectId), isNull(projects.deletedAt)))
      .innerJoin(organizations, and(eq(organizations.id, projects.orgId), isNull(organizations.deletedAt)))
      .where(and(eq(dataSources.id, refresh.dataSourceId), eq(dataSources.orgId, refresh.orgId), eq(projects.orgId, refresh.orgId)));
    if (!found) throw new Error("The project was deleted.");
    const rows = await refreshRows(config, found.source, refresh.request);
    const { dataset, created } = await importInto({ db, config, logger }, found.project, refresh.datasetName, rows, refresh.createdBy);
    // The same rows as the newest version: nothing new to analyse.
    const analysisId = created ? await rerunAnalysis(db, config, refresh, dataset) : null;
    await db
      .update(dataRefreshes)
      .set({
        runningSince: null,
        lastRunAt: sql`now()`,
        lastStatus: "succeeded",
        lastError: null,
        lastDatasetId: dataset.id,
        ...(analysisId ? { lastAnalysisId: analysisId } : {}),
        runs: sql`${dataRefreshes.runs} + 1`,
        updatedAt: sql`now()`,
      })
      .where(eq(dataRefreshes.id, refresh.id));
    return true;
  } catch (error) {
    logger.warn("scheduled refresh failed", { refreshId: refresh.id, reason: reasonOf(error) });
    await db
      .update(dataRefreshes)
      .set({
        runningSince: null,
        lastRunAt: sql`now()`,
        lastStatus: "failed",
        lastError: reasonOf(error),
        runs: sql`${dataRefreshes.runs} + 1`,
        updatedAt: sql`now()`,
      })
      .where(eq(dataRefreshes.id, refresh.id));
    return false;
  }
}

export async function runRefreshes(
  db: Database,
  config: Config,
  logger: Logger,
  { batchSize = 5, staleMinutes = 30 }: RefreshOptions = {},
) {
  const claimed = await claim(db, batchSize, staleMinutes);
  let succeeded = 0;
  // One at a time: each holds a source connection and streams a file to R2.
  for (const refresh of claimed) if (await runOne(db, config, logger, refresh)) succeeded++;
  return { refreshes: claimed.length, succeeded, failed: claimed.length - succeeded };
}
