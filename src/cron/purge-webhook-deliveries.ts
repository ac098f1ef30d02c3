// Cron job: the webhook delivery log keeps finished deliveries (succeeded or dead) for RETENTION_DAYS, in bounded batches.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";

/** At most `batchSize × maxBatches` rows per run; pending deliveries are never touched (their retry window is still open). */
export async function purgeWebhookDeliveries(
  db: Database,
  { retentionDays, batchSize = 500, maxBatches = 10 }: { retentionDays: number; batchSize?: number; maxBatches?: number },
) {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = await db.execute<{ id: string }>(sql`
      DELETE FROM webhook_deliveries WHERE id IN (
        SELECT id FROM webhook_deliveries
        WHERE status <> 'pending' AND finished_at < now() - make_interval(days => ${retentionDays})
        LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
      ) RETURNING id`);
    deleted += result.rows.length;
    if (result.rows.length < batchSize) return { deleted, done: true };
  }
  return { deleted, done: false };
}
