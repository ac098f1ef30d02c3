// Cron job: datasets whose store never settled go back on the load queue: a message lost or dropped, a load whose Worker
// died, or a dataset uploaded before stores existed (pending, never queued). A load is idempotent, so a second message is harmless.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import type { DatasetLoadMessage } from "../queues/dataset-loads/message.ts";

export interface RequeueLoadsOptions {
  /** A pending or loading store untouched this long (since it was last queued or taken, else since the upload) is stuck. */
  staleSeconds?: number;
  /** At most this many a run (a queue batch holds 100 messages); the rest wait for the next run, oldest first. */
  batchSize?: number;
}

export async function requeueDatasetLoads(db: Database, queue: Queue, { staleSeconds = 900, batchSize = 100 }: RequeueLoadsOptions = {}) {
  // Stamped in the statement that picks them, so the next run (or a second cron at once) does not send them again.
  const due = await db.execute<{ id: string; never_queued: boolean }>(sql`
    UPDATE datasets d SET query_queued_at = now()
    FROM (
      SELECT id, query_queued_at IS NULL AS never_queued FROM datasets
      WHERE query_status IN ('pending', 'loading') AND deleted_at IS NULL
        AND coalesce(query_queued_at, created_at) < now() - make_interval(secs => ${staleSeconds})
      ORDER BY created_at
      LIMIT ${batchSize}
      FOR UPDATE SKIP LOCKED
    ) picked
    WHERE d.id = picked.id
    RETURNING d.id, picked.never_queued`);
  if (due.rows.length > 0) {
    await queue.sendBatch(
      due.rows.map((row) => ({ body: { datasetId: row.id } satisfies DatasetLoadMessage, contentType: "json" as const })),
    );
  }
  const backfilled = due.rows.filter((row) => row.never_queued).length;
  return { requeued: due.rows.length - backfilled, backfilled };
}
