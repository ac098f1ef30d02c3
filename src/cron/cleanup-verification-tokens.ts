// Cron job: deletes email verification links that expired or were used over a day ago, in bounded batches.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import type { CleanupOptions } from "./cleanup-auth-sessions.ts";

/** At most `batchSize × maxBatches` rows per run; a used or expired link is kept a day, so its outcome still explains itself. */
export async function cleanupVerificationTokens(db: Database, { batchSize = 500, maxBatches = 10 }: CleanupOptions = {}) {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = await db.execute<{ token_hash: string }>(sql`
      DELETE FROM email_verification_tokens WHERE token_hash IN (
        SELECT token_hash FROM email_verification_tokens
        WHERE expires_at < now() - interval '1 day' OR used_at < now() - interval '1 day'
        LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
      ) RETURNING token_hash`);
    deleted += result.rows.length;
    if (result.rows.length < batchSize) return { deleted, done: true };
  }
  return { deleted, done: false };
}
