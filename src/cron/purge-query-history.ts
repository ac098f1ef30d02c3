// Cron job: a data source's query history (text and params as sent) is kept QUERY_HISTORY_DAYS, deleted in bounded batches.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";

/** At most `batchSize × maxBatches` rows per run; the next run goes on where this one stopped. */
export async function purgeQueryHistory(
  db: Database,
  { days, batchSize = 1_000, maxBatches = 10 }: { days: number; batchSize?: number; maxBatches?: number },
) {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = await db.execute<{ id: string }>(sql`
      DELETE FROM data_source_queries WHERE id IN (
        SELECT id FROM data_source_queries
        WHERE created_at < now() - make_interval(days => ${days})
        LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
      ) RETURNING id`);
    deleted += result.rows.length;
    if (result.rows.length < batchSize) return { deleted, done: true };
  }
  return { deleted, done: false };
}
