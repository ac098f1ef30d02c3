// Cron job: deletes expired and revoked auth sessions (their refresh tokens go with them), in bounded batches.
// Revoked sessions are kept for a day first, so a token-reuse incident can still be looked into.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";

export interface CleanupOptions {
  batchSize?: number;
  maxBatches?: number;
}

/**
 * Deletes at most `batchSize × maxBatches` sessions per run, oldest first; what is left waits for
 * the next run. Idempotent: a second run finds nothing more to delete.
 */
export async function cleanupAuthSessions(db: Database, { batchSize = 500, maxBatches = 10 }: CleanupOptions = {}) {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = await db.execute<{ id: string }>(sql`
      DELETE FROM auth_sessions WHERE id IN (
        SELECT id FROM auth_sessions WHERE expires_at < now() OR revoked_at < now() - interval '1 day'
        ORDER BY expires_at LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
      ) RETURNING id`);
    deleted += result.rows.length;
    if (result.rows.length < batchSize) return { deleted, done: true };
  }
  return { deleted, done: false };
}
