// Writes one ingested dataset version: its row (next version of its name, unless the same bytes are already there) in one batch.
import { and, desc, eq, isNull, or, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import type { ParseOptions } from "../../db/dataset-documents.ts";
import { datasets, projects } from "../../db/schema.ts";
import type { Dataset, Project } from "../../lib/tenancy.ts";
import type { Ingested } from "./ingest.ts";

export interface NewDataset {
  id: string;
  project: Project;
  name: string;
  format: Dataset["format"];
  /** The R2 object ingest wrote. */
  key: string;
  ingested: Ingested;
  userId: string | null;
  /**
   * A version that re-reads another's file (a type override): inserted although its bytes are in the project, only while
   * `version` is still the newest of its name, and the shared file is never deleted here.
   */
  rereads?: { version: number };
  /** The caller removes the file when it gives up: a queue job whose save failed for now retries with the same object. */
  keepFileOnError?: boolean;
}

/** The first key of the advisory lock that serializes the version allocation of one project's uploads. */
const VERSION_LOCK = 0x6461_7461; // "data"

/** Thrown when the project (or its organization) was deleted while the file was uploading. */
export class ProjectGoneError extends Error {}

/** Thrown for a re-read (a type override) of a version that is no longer the newest of its name, or whose project is gone. */
export class NewerVersionError extends Error {}

/**
 * One batch (one transaction): take the project's upload lock, insert unless these bytes are already
 * in the project or the project is gone (and with it its reject report), touch the project, and read back this version's row, or,
 * when nothing was inserted, the dataset that has the bytes (the caller then deletes its own R2
 * object). Under the lock each upload's INSERT sees the versions committed before it (read committed
 * takes a snapshot per statement), so uploads of one name at once get consecutive versions and the
 * same bytes at once give one dataset. On failure, or when the project is gone, the R2 object is deleted (unless `keepFileOnError`).
 */
export async function saveDataset(
  db: Database,
  bucket: R2Bucket,
  { id, project, name, format, key, ingested, userId, rereads, keepFileOnError }: NewDataset,
): Promise<Dataset> {
  const sameBytes = rereads
    ? sql`false`
    : and(eq(datasets.projectId, project.id), eq(datasets.sha256, ingested.sha256), isNull(datasets.deletedAt));
  const allowed = rereads
    ? sql`coalesce(max(version) FILTER (WHERE deleted_at IS NULL), 0) = ${rereads.version}`
    : sql`NOT EXISTS (SELECT 1 FROM datasets d WHERE d.project_id = ${project.id} AND d.sha256 = ${ingested.sha256} AND d.deleted_at IS NULL)`;
  const live = sql`EXISTS (SELECT 1 FROM projects p JOIN organizations o ON o.id = p.org_id
                           WHERE p.id = ${project.id} AND p.deleted_at IS NULL AND o.deleted_at IS NULL)`;
  try {
    const [, , , , rows] = await db.batch([
      db.execute(sql`SELECT pg_advisory_xact_lock(${VERSION_LOCK}, hashtext(${project.id}))`),
      db.execute(sql`
        INSERT INTO datasets (id, project_id, org_id, name, version, format, size_bytes, sha256, row_count, column_count, parse_options, profile, sample, r2_key, created_by, rejected_count)
        SELECT ${id}, ${project.id}, ${project.orgId}, ${name}, coalesce(max(version), 0) + 1, ${format}, ${ingested.sizeBytes}, ${ingested.sha256},
               ${ingested.rowCount}, ${ingested.columns.length}, ${JSON.stringify(ingested.parse)}::jsonb, ${JSON.stringify(ingested.profile)}::jsonb,
               ${JSON.stringify(ingested.sample)}::jsonb, ${key}, ${userId}, ${ingested.rejectedCount}
        FROM datasets WHERE project_id = ${project.id} AND name = ${name}
        HAVING ${allowed} AND ${live}`),
      // The reject report, one row per listed reject, only when this version was inserted.
      db.execute(sql`
        INSERT INTO dataset_rejected_rows (dataset_id, position, line, "column", reason, raw)
        SELECT ${id}, r.ordinality, (r.value->>'line')::int, (r.value->>'column')::int, r.value->>'reason', r.value->>'raw'
        FROM jsonb_array_elements(${JSON.stringify(ingested.rejects)}::jsonb) WITH ORDINALITY AS r(value, ordinality)
        WHERE EXISTS (SELECT 1 FROM datasets WHERE id = ${id})`),
      db
        .update(projects)
        .set({ updatedAt: sql`now()` })
        .where(and(eq(projects.id, project.id), sql`EXISTS (SELECT 1 FROM datasets WHERE id = ${id})`)),
      db
        .select()
        .from(datasets)
        .where(and(or(eq(datasets.id, id), sameBytes), live))
        // The same bytes again: the newest version that has them (a type override's reads them as its owner chose).
        .orderBy(sql`${datasets.id} = ${id} DESC`, desc(datasets.createdAt))
        .limit(1),
    ]);
    if (!rows[0]) throw rereads ? new NewerVersionError() : new ProjectGoneError();
    return rows[0];
  } catch (error) {
    if (!rereads && !keepFileOnError) await bucket.delete(key).catch(() => {});
    throw error;
  }
}

/**
 * The type overrides of the newest live version of `name` in the project: an upload (or an import) of that name reads its
 * columns the same way, so an override survives re-uploads. Undefined when there is none.
 */
export async function overridesOf(db: Database, projectId: string, name: string): Promise<ParseOptions["types"]> {
  const [newest] = await db
    .select({ parseOptions: datasets.parseOptions })
    .from(datasets)
    .where(and(eq(datasets.projectId, projectId), eq(datasets.name, name), isNull(datasets.deletedAt)))
    .orderBy(desc(datasets.version))
    .limit(1);
  const types = newest?.parseOptions.types;
  return types?.length ? types : undefined;
}
