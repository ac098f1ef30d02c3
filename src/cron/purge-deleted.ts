// Cron job: removes projects and datasets soft-deleted longer than RETENTION_DAYS, their R2 files and stores first.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import type { ParseOptions } from "../db/dataset-documents.ts";
import { storeFor } from "../services/dataset-store/stub.ts";

export interface PurgeOptions {
  retentionDays: number;
  /** The datasets' stores: one no remaining dataset row uses is deleted with the last row. */
  stores?: DurableObjectNamespace;
  batchSize?: number;
  maxBatches?: number;
}

/**
 * Deletes the stored files before the rows that point at them, so a run cut short leaves rows to
 * retry, never files nobody can find. Bounded per run; a second run finds nothing more to do.
 */
export async function purgeDeleted(
  db: Database,
  bucket: R2Bucket,
  { retentionDays, stores, batchSize = 100, maxBatches = 10 }: PurgeOptions,
) {
  const cutoff = sql`now() - make_interval(days => ${retentionDays})`;
  let datasets = 0;
  let projects = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    // Datasets deleted themselves, or inside a project past its window.
    const due = await db.execute<{ id: string; r2_key: string }>(sql`
      SELECT d.id, d.r2_key FROM datasets d JOIN projects p ON p.id = d.project_id
      WHERE d.deleted_at < ${cutoff} OR p.deleted_at < ${cutoff}
      LIMIT ${batchSize}`);
    if (due.rows.length === 0) break;
    const ids = `{${due.rows.map((row) => row.id).join(",")}}`;
    if (stores) {
      // A store is shared by the organization's rows with the same bytes: it goes only with the last of them (soft-deleted ones count).
      // Type overrides give the same bytes a store of their own (see contentKey): they are part of what is shared.
      const orphans = await db.execute<{ id: string; org_id: string; sha256: string; parse_options: ParseOptions }>(sql`
        SELECT DISTINCT ON (d.org_id, d.sha256, coalesce(d.parse_options->'types', '[]'::jsonb)) d.id, d.org_id, d.sha256, d.parse_options
        FROM datasets d
        WHERE d.id = ANY(${ids}::uuid[])
          AND NOT EXISTS (SELECT 1 FROM datasets o WHERE o.org_id = d.org_id AND o.sha256 = d.sha256
                            AND coalesce(o.parse_options->'types', '[]'::jsonb) = coalesce(d.parse_options->'types', '[]'::jsonb)
                            AND NOT (o.id = ANY(${ids}::uuid[])))`);
      await Promise.all(
        orphans.rows.map((row) =>
          storeFor(
            { DATASET_STORES: stores },
            { id: row.id, orgId: row.org_id, sha256: row.sha256, parseOptions: row.parse_options },
          ).destroy(),
        ),
      );
    }
    // A version made by a type override reads its source's file: the file goes with the last row that reads it.
    const unread = await db.execute<{ r2_key: string }>(sql`
      SELECT DISTINCT d.r2_key FROM datasets d
      WHERE d.id = ANY(${ids}::uuid[])
        AND NOT EXISTS (SELECT 1 FROM datasets o WHERE o.org_id = d.org_id AND o.sha256 = d.sha256 AND o.r2_key = d.r2_key
                          AND NOT (o.id = ANY(${ids}::uuid[])))`);
    if (unread.rows.length > 0) await bucket.delete(unread.rows.map((row) => row.r2_key));
    await db.execute(sql`DELETE FROM datasets WHERE id = ANY(${ids}::uuid[])`);
    datasets += due.rows.length;
    if (due.rows.length < batchSize) break;
  }
  for (let batch = 0; batch < maxBatches; batch++) {
    const gone = await db.execute<{ id: string }>(sql`
      DELETE FROM projects WHERE id IN (
        SELECT p.id FROM projects p WHERE p.deleted_at < ${cutoff}
          AND NOT EXISTS (SELECT 1 FROM datasets d WHERE d.project_id = p.id)
        LIMIT ${batchSize}
      ) RETURNING id`);
    projects += gone.rows.length;
    if (gone.rows.length < batchSize) break;
  }
  return { datasets, projects };
}
