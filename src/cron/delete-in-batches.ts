// Deletes a table's rows that match `where`, a bounded batch per statement and a bounded number of batches per cron run.
import { type SQL, sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { Database } from "../db/client.ts";

/**
 * At most `batchSize × maxBatches` rows per run; the next run goes on where this one stopped. Rows another run is deleting
 * are skipped, not waited for (FOR UPDATE SKIP LOCKED). `done` says whether nothing matching was left.
 */
export async function deleteInBatches(
  db: Database,
  table: PgTable,
  where: SQL,
  { batchSize, maxBatches }: { batchSize: number; maxBatches: number },
) {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = await db.execute<{ id: string }>(sql`
      DELETE FROM ${table} WHERE id IN (
        SELECT id FROM ${table} WHERE ${where} LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
      ) RETURNING id`);
    deleted += result.rows.length;
    if (result.rows.length < batchSize) return { deleted, done: true };
  }
  return { deleted, done: false };
}
