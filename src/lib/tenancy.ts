// Tenant isolation: every organization-scoped route resolves its organization here, so another tenant's is a 404.
import { and, eq, inArray, isNotNull, isNull, or, type SQL, sql } from "drizzle-orm";
import { type PgColumn, QueryBuilder } from "drizzle-orm/pg-core";
import type { Context } from "hono";
import {
  analyses,
  analysisSessions,
  charts,
  dataSources,
  datasets,
  orgMembers,
  organizations,
  projects,
  resumableUploads,
  type Role,
} from "../db/schema.ts";
import { principalOf } from "./principal.ts";
import { type Action, allows, keyMayTake, keyRole, policy } from "./policy.ts";
import { notReady } from "../services/uploads/pending-dataset.ts";
import { guarded } from "./session-guard.ts";
import { ApiError } from "./problem.ts";
import type { AppEnv } from "./types.ts";

export type Organization = typeof organizations.$inferSelect;

/** Builds subqueries without a client: they run inside the caller's own (guarded) query. */
const qb = new QueryBuilder();

/**
 * The condition that keeps a list to the caller's organizations: an API key's own, or every one the
 * person belongs to. For lists across organizations, where there is no single one to require.
 */
export function visibleOrgs(c: Context<AppEnv>, orgId: PgColumn): SQL {
  const { visible, mfaMissing } = standing(c, orgId);
  // An organization that requires MFA of a member who has none lists nothing of its own to them.
  return and(visible, sql`NOT ${mfaMissing}`)!;
}

/**
 * The caller's standing in the organization that `orgId` names, as pieces of one query: which rows it may see, its role there,
 * and whether the organization requires a second factor the caller lacks. One shape for both callers: a person through their
 * membership row, an API key in its own organization with the role its scopes give (a key is no sign-in, so MFA does not
 * apply to it). Every `require*` below uses it.
 */
function standing(c: Context<AppEnv>, orgId: PgColumn): { visible: SQL; role: SQL<Role>; mfaMissing: SQL<boolean> } {
  const principal = principalOf(c);
  if (principal.kind === "api_key") {
    return { visible: eq(orgId, principal.orgId), role: sql<Role>`${keyRole(principal.scopes)}::text`, mfaMissing: sql<boolean>`false` };
  }
  return {
    visible: inArray(orgId, qb.select({ id: orgMembers.orgId }).from(orgMembers).where(eq(orgMembers.userId, principal.userId))),
    role: sql<Role>`(SELECT ${orgMembers.role} FROM ${orgMembers} WHERE ${orgMembers.orgId} = ${orgId} AND ${orgMembers.userId} = ${principal.userId})`,
    // `orgId` stays outside the subqueries: drizzle may write it unqualified, and inside one it would name the subquery's own id.
    mfaMissing: sql<boolean>`(${orgId} IN (SELECT o.id FROM organizations o WHERE o.require_mfa)
      AND NOT EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = ${principal.userId} AND t.confirmed_at IS NOT NULL))`,
  };
}

/** Live rows only: soft-deleted ones (or, with `deleted`, only those) for the resource that can be restored. */
const liveness = (deletedAt: PgColumn, deleted: boolean) => (deleted ? isNotNull(deletedAt) : isNull(deletedAt));

/**
 * The organization `slug` as the caller may see it, with the caller's role there. Not a member
 * (or the org does not exist, or belongs to another key) → 404, indistinguishable; a member
 * whose role is below what `action` needs → 403.
 */
export async function requireOrg(c: Context<AppEnv>, slug: string, action: Action): Promise<{ org: Organization; role: Role }> {
  const { visible, role, mfaMissing } = standing(c, organizations.id);
  const [[found]] = await guarded(c, (db) => [
    db
      .select({ org: organizations, role, mfaMissing })
      .from(organizations)
      .where(and(eq(organizations.slug, slug), isNull(organizations.deletedAt), visible)),
  ]);
  if (!found) throw new ApiError(404, { detail: `No organization "${slug}" is visible to you.` });
  authorize(c, found.org.id, found.role, action, found.mfaMissing);
  return found;
}

/** Checks `role` against the policy for `action`, inside organization `orgId` (403 when short). */
function authorize(c: Context<AppEnv>, orgId: string, role: Role, action: Action, mfaMissing: boolean) {
  // From here the caller is inside: a refusal below is part of the organization's audit trail.
  c.set("orgId", orgId);
  if (mfaMissing) {
    throw new ApiError(403, {
      code: "MFA_REQUIRED",
      detail: "This organization requires two-factor sign-in: enrol at POST /me/mfa/totp and confirm it.",
    });
  }
  if (principalOf(c).kind === "api_key" && !keyMayTake(action)) {
    throw new ApiError(403, {
      code: "FORBIDDEN",
      detail: `API keys cannot ${action.replace(":", " ")}; a person with the ${policy[action]} role can.`,
    });
  }
  if (!allows(role, action)) {
    throw new ApiError(403, {
      code: "FORBIDDEN",
      detail: `Your role (${role}) cannot ${action.replace(":", " ")}; it needs ${policy[action]} or above.`,
    });
  }
}

export type Project = typeof projects.$inferSelect;

/**
 * Project `id` as the caller may see it (live, or soft-deleted with `{ deleted: true }`), in an
 * organization they belong to; anything else is a 404, the same as a project that never existed.
 */
export async function requireProject(
  c: Context<AppEnv>,
  id: string,
  action: Action,
  { deleted = false }: { deleted?: boolean } = {},
): Promise<{ project: Project; role: Role; orgSlug: string }> {
  const { visible, role, mfaMissing } = standing(c, projects.orgId);
  const [[row]] = await guarded(c, (db) => [
    db
      .select({ project: projects, role, mfaMissing, orgSlug: organizations.slug })
      .from(projects)
      .innerJoin(organizations, and(eq(organizations.id, projects.orgId), isNull(organizations.deletedAt)))
      .where(and(eq(projects.id, id), liveness(projects.deletedAt, deleted), visible)),
  ]);
  if (!row)
    throw new ApiError(404, {
      detail: deleted ? "No deleted project with this id is visible to you." : "No project with this id is visible to you.",
    });
  authorize(c, row.project.orgId, row.role, action, row.mfaMissing);
  return row;
}

export type Dataset = typeof datasets.$inferSelect;

/** Dataset `id` (live, in a live project and organization) if the caller may see it. */
async function datasetRow(c: Context<AppEnv>, id: string) {
  const { visible, role, mfaMissing } = standing(c, datasets.orgId);
  const [[row]] = await guarded(c, (db) => [
    db
      .select({ dataset: datasets, role, mfaMissing })
      .from(datasets)
      .innerJoin(projects, and(eq(projects.id, datasets.projectId), isNull(projects.deletedAt)))
      .innerJoin(organizations, and(eq(organizations.id, datasets.orgId), isNull(organizations.deletedAt)))
      .where(and(eq(datasets.id, id), isNull(datasets.deletedAt), visible)),
  ]);
  return row;
}

const noDataset = () => new ApiError(404, { detail: "No dataset with this id is visible to you." });

/**
 * Dataset `id` as the caller may see it, or (an id a resumable upload reserved, not saved yet) the upload on its way.
 * An upload whose bytes were already a dataset of the project gives that dataset: its id is not `id`. Anything else is a
 * 404, another tenant's dataset or upload included.
 */
export async function findDataset(
  c: Context<AppEnv>,
  id: string,
  action: Action,
): Promise<{ dataset: Dataset; upload?: undefined; role: Role } | { dataset?: undefined; upload: ResumableUpload; role: Role }> {
  const row = await datasetRow(c, id);
  if (row) {
    authorize(c, row.dataset.orgId, row.role, action, row.mfaMissing);
    return row;
  }
  const pending = await uploadRow(c, "reservedDatasetId", id);
  if (!pending) throw noDataset();
  authorize(c, pending.upload.orgId, pending.role, action, pending.mfaMissing);
  if (pending.upload.status !== "ready") return pending;
  // Saved since the first read, or pointed at the dataset that already had these bytes (unless that was deleted since).
  const saved = await datasetRow(c, pending.upload.datasetId);
  if (!saved) throw noDataset();
  return saved;
}

/**
 * Dataset `id` (live, in a live project) as the caller may see it; anything else is a 404. An id a resumable upload
 * reserved is a 409 until its dataset is saved (pending-dataset.ts), and a 404 naming the dataset that has its bytes when
 * they were already in the project.
 */
export async function requireDataset(c: Context<AppEnv>, id: string, action: Action): Promise<{ dataset: Dataset; role: Role }> {
  const found = await findDataset(c, id, action);
  if (found.upload) throw notReady(id, found.upload);
  if (found.dataset.id !== id)
    throw new ApiError(404, {
      detail: `This id was reserved by an upload whose bytes were already dataset ${found.dataset.id}: use that id.`,
      extensions: { datasetId: found.dataset.id },
    });
  return found;
}

export type AnalysisSession = typeof analysisSessions.$inferSelect;

/**
 * Session `id` (live, or soft-deleted with `{ deleted: true }`) in a live project and organization,
 * with its dataset (which may since have been deleted: the caller decides what that means).
 */
export async function requireSession(
  c: Context<AppEnv>,
  id: string,
  action: Action,
  { deleted = false }: { deleted?: boolean } = {},
): Promise<{ session: AnalysisSession; dataset: Dataset; role: Role }> {
  const { visible, role, mfaMissing } = standing(c, analysisSessions.orgId);
  const [[row]] = await guarded(c, (db) => [
    db
      .select({ session: analysisSessions, dataset: datasets, role, mfaMissing })
      .from(analysisSessions)
      .innerJoin(datasets, eq(datasets.id, analysisSessions.datasetId))
      .innerJoin(projects, and(eq(projects.id, analysisSessions.projectId), isNull(projects.deletedAt)))
      .innerJoin(organizations, and(eq(organizations.id, analysisSessions.orgId), isNull(organizations.deletedAt)))
      .where(and(eq(analysisSessions.id, id), liveness(analysisSessions.deletedAt, deleted), visible)),
  ]);
  if (!row)
    throw new ApiError(404, {
      detail: deleted ? "No deleted session with this id is visible to you." : "No session with this id is visible to you.",
    });
  authorize(c, row.session.orgId, row.role, action, row.mfaMissing);
  return row;
}

/** Analysis `id` (its session, project and organization live) as the caller may see it, with its charts, in the same round trip. */
export async function requireAnalysis(c: Context<AppEnv>, id: string, action: Action) {
  const { visible, role, mfaMissing } = standing(c, analyses.orgId);
  const [[row], chartRows] = await guarded(c, (db) => [
    db
      .select({ analysis: analyses, role, mfaMissing })
      .from(analyses)
      .innerJoin(analysisSessions, and(eq(analysisSessions.id, analyses.sessionId), isNull(analysisSessions.deletedAt)))
      .innerJoin(projects, and(eq(projects.id, analysisSessions.projectId), isNull(projects.deletedAt)))
      .innerJoin(organizations, and(eq(organizations.id, analyses.orgId), isNull(organizations.deletedAt)))
      .where(and(eq(analyses.id, id), visible)),
    // Only when the analysis itself is visible: the charts are read in the same batch, not after the check.
    db
      .select()
      .from(charts)
      .where(
        and(
          eq(charts.analysisId, id),
          inArray(
            charts.analysisId,
            qb
              .select({ id: analyses.id })
              .from(analyses)
              .where(and(eq(analyses.id, id), visible)),
          ),
        ),
      ),
  ]);
  if (!row) throw new ApiError(404, { detail: "No analysis with this id is visible to you." });
  authorize(c, row.analysis.orgId, row.role, action, row.mfaMissing);
  return { analysis: row.analysis, charts: chartRows, role: row.role };
}

export type DataSource = typeof dataSources.$inferSelect;

/** Source `id` of organization `slug`, for a caller allowed `action` there; another tenant's is a 404 like a missing one. */
export async function requireDataSource(
  c: Context<AppEnv>,
  slug: string,
  id: string,
  action: Action,
): Promise<{ org: Organization; source: DataSource; role: Role }> {
  const { org, role } = await requireOrg(c, slug, action);
  const [source] = await c
    .get("services")
    .db.select()
    .from(dataSources)
    .where(and(eq(dataSources.id, id), eq(dataSources.orgId, org.id)));
  if (!source) throw new ApiError(404, { detail: "No data source with this id is visible to you." });
  return { org, source, role };
}

export type ResumableUpload = typeof resumableUploads.$inferSelect;

/**
 * A resumable upload (by its own id, or by the dataset id it reserved) in a live project and organization, as the
 * caller may see it; anything else is a 404, another tenant's upload included.
 */
export async function requireUpload(
  c: Context<AppEnv>,
  by: "id" | "datasetId",
  id: string,
  action: Action,
): Promise<{ upload: ResumableUpload; role: Role }> {
  const row = await uploadRow(c, by, id);
  if (!row) throw new ApiError(404, { detail: "No upload with this id is visible to you." });
  authorize(c, row.upload.orgId, row.role, action, row.mfaMissing);
  return row;
}

/** The caller's visible upload by `by`; the reserved dataset id is the dataset id for rows from before it was kept. */
async function uploadRow(c: Context<AppEnv>, by: "id" | "datasetId" | "reservedDatasetId", id: string) {
  const { visible, role, mfaMissing } = standing(c, resumableUploads.orgId);
  const match =
    by === "reservedDatasetId"
      ? or(eq(resumableUploads.reservedDatasetId, id), and(isNull(resumableUploads.reservedDatasetId), eq(resumableUploads.datasetId, id)))
      : eq(by === "id" ? resumableUploads.id : resumableUploads.datasetId, id);
  const [[row]] = await guarded(c, (db) => [
    db
      .select({ upload: resumableUploads, role, mfaMissing })
      .from(resumableUploads)
      .innerJoin(projects, and(eq(projects.id, resumableUploads.projectId), isNull(projects.deletedAt)))
      .innerJoin(organizations, and(eq(organizations.id, resumableUploads.orgId), isNull(organizations.deletedAt)))
      .where(and(match, visible))
      .orderBy(resumableUploads.createdAt)
      .limit(1),
  ]);
  return row;
}
