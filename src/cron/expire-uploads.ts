// Cron job: resumable uploads left unfinished past Upload-Expires are aborted (their R2 parts and tail removed, their row
// deleted), and finished ones whose ingest job was lost (the send failed, or its Worker died) are queued again.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { resumableUploads } from "../db/schema.ts";
import type { ResumableUpload } from "../lib/tenancy.ts";
import type { DatasetIngestMessage } from "../queues/dataset-ingest/message.ts";
import { discardUpload } from "../services/uploads/append.ts";

export interface ExpireUploadsOptions {
  /** At most this many of each a run; the rest wait for the next, oldest first. */
  batchSize?: number;
  /** A processing upload untouched this long has lost its job. */
  staleSeconds?: number;
}

export async function expireUploads(
  db: Database,
  bucket: R2Bucket,
  queue: Queue,
  { batchSize = 100, staleSeconds = 900 }: ExpireUploadsOptions = {},
) {
  const expired = await db
    .select()
    .from(resumableUploads)
    .where(sql`${resumableUploads.status} = 'uploading' AND ${resumableUploads.expiresAt} <= now()`)
    .orderBy(resumableUploads.expiresAt)
    .limit(batchSize);
  let aborted = 0;
  for (const upload of expired as ResumableUpload[]) {
    // Deleted first, under the same condition: a PATCH that raced in cannot record parts of an upload being aborted.
    const gone = await db.execute(
      sql`DELETE FROM resumable_uploads WHERE id = ${upload.id} AND status = 'uploading' AND expires_at <= now() RETURNING id`,
    );
    if (gone.rows.length === 0) continue;
    await discardUpload(bucket, upload);
    aborted++;
  }
  const stale = await db.execute<{ id: string }>(sql`
    UPDATE resumable_uploads SET updated_at = now()
    WHERE id IN (SELECT id FROM resumable_uploads WHERE status = 'processing'
                 AND updated_at < now() - make_interval(secs => ${staleSeconds}) ORDER BY updated_at LIMIT ${batchSize})
    RETURNING id`);
  if (stale.rows.length > 0)
    await queue.sendBatch(
      stale.rows.map((row) => ({ body: { uploadId: row.id } satisfies DatasetIngestMessage, contentType: "json" as const })),
    );
  return { aborted, requeued: stale.rows.length };
}
