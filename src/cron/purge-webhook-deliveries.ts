// Cron job: the webhook delivery log keeps finished deliveries (succeeded or dead) for RETENTION_DAYS, in bounded batches.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { webhookDeliveries } from "../db/schema.ts";
import { deleteInBatches } from "./delete-in-batches.ts";

/** Pending deliveries are never touched (their retry window is still open). */
export const purgeWebhookDeliveries = (
  db: Database,
  { retentionDays, batchSize = 500, maxBatches = 10 }: { retentionDays: number; batchSize?: number; maxBatches?: number },
) =>
  deleteInBatches(db, webhookDeliveries, sql`status <> 'pending' AND finished_at < now() - make_interval(days => ${retentionDays})`, {
    batchSize,
    maxBatches,
  });
