// Tenant isolation: every organization-scoped route resolves its organization here, so another tenant's is a 404.
import { and, eq, inArray, isNotNull, isNull, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import type { Context } from "hono";
import { analysisSessions, datasets, orgMembers, organizations, projects, type Role } from "../db/schema.ts";
import { principalOf } from "./principal.ts";
import { type Action, allows, keyMayTake, keyRole, policy } from "./policy.ts";
import { guarded } from "./session-guard.ts";
import { ApiError } from "./problem.ts";
import type { AppEnv } from "./types.ts";

export type Organization = typeof organizations.$inferSelect;

/**
 * The condition that keeps a list to the caller's organizations: an API key's own, or every one the
 * person belongs to. For lists across organizations, where there is no single one to require.
 */
export function visibleOrgs(c: Context<AppEnv>, orgId: PgColumn): SQL {
  const principal = principalOf(c);
  if (principal.kind === "api_key") return eq(orgId, principal.orgId);
  const db = c.get("services").rawDb;
  return inArray(orgId, db.select({ id: orgMembers.orgId }).from(orgMembers).where(eq(orgMembers.userId, principal.userId)));
}

/**
 * The organization `slug` as the caller may see it, with the caller's role there. Not a member
 * (or the org does not exist, or belongs to another key) → 404, indistinguishable; a member
 * whose role is below what `action` needs → 403.
 */
export async function requireOrg(c: Context<AppEnv>, slug: string, action: Action): Promise<{ org: Organization; role: Role }> {
  const principal = principalOf(c);
  const db = c.get("services").rawDb;
  const live = and(eq(organizations.slug, slug), isNull(organizations.deletedAt));
  let found: { org: Organization; role: Role } | undefined;
  if (principal.kind === "api_key") {
    const [[org]] = await guarded(c, [db.select().from(organizations).where(and(live, eq(organizations.id, principal.orgId)))]);
    if (org) found = { org, role: keyRole(principal.scopes) };
  } else {
    [[found]] = await guarded(c, [
      db
        .select({ org: organizations, role: orgMembers.role })
        .from(organizations)
        .innerJoin(orgMembers, and(eq(orgMembers.orgId, organizations.id), eq(orgMembers.userId, principal.userId)))
        .where(live),
    ]);
  }
  if (!found) throw new ApiError(404, { detail: `No organization "${slug}" is visible to you.` });
  authorize(c, found.org.id, found.role, action);
  return found;
}

/** Checks `role` against the policy for `action`, inside organization `orgId` (403 when short). */
function authorize(c: Context<AppEnv>, orgId: string, role: Role, action: Action) {
  // From here the caller is inside: a refusal below is part of the organization's audit trail.
  c.set("orgId", orgId);
  if (principalOf(c).kind === "api_key" && !keyMayTake(action)) {
    throw new ApiError(403, { code: "FORBIDDEN", detail: `API keys cannot ${action.replace(":", " ")}; a person with the ${policy[action]} role can.` });
  }
  if (!allows(role, action)) {
    throw new ApiError(403, { code: "FORBIDDEN", detail: `Your role (${role}) cannot ${action.replace(":", " ")}; it needs ${policy[action]} or above.` });
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
  const principal = principalOf(c);
  const db = c.get("services").rawDb;
  const visible = and(eq(projects.id, id), deleted ? isNotNull(projects.deletedAt) : isNull(projects.deletedAt));
  const liveOrg = and(eq(organizations.id, projects.orgId), isNull(organizations.deletedAt));
  let row: { project: Project; role: Role; orgSlug: string } | undefined;
  if (principal.kind === "api_key") {
    const [[found]] = await guarded(c, [
      db.select({ project: projects, orgSlug: organizations.slug }).from(projects).innerJoin(organizations, liveOrg).where(and(visible, eq(projects.orgId, principal.orgId))),
    ]);
    row = found && { ...found, role: keyRole(principal.scopes) };
  } else {
    [[row]] = await guarded(c, [
      db
        .select({ project: projects, role: orgMembers.role, orgSlug: organizations.slug })
        .from(projects)
        .innerJoin(organizations, liveOrg)
        .innerJoin(orgMembers, and(eq(orgMembers.orgId, projects.orgId), eq(orgMembers.userId, principal.userId)))
        .where(visible),
    ]);
  }
  if (!row) throw new ApiError(404, { detail: deleted ? "No deleted project with this id is visible to you." : "No project with this id is visible to you." });
  authorize(c, row.project.orgId, row.role, action);
  return row;
}

export type Dataset = typeof datasets.$inferSelect;

/** Dataset `id` (live, in a live project) as the caller may see it; anything else is a 404. */
export async function requireDataset(c: Context<AppEnv>, id: string, action: Action): Promise<{ dataset: Dataset; role: Role }> {
  const principal = principalOf(c);
  const db = c.get("services").rawDb;
  const visible = and(eq(datasets.id, id), isNull(datasets.deletedAt));
  const liveProject = and(eq(projects.id, datasets.projectId), isNull(projects.deletedAt));
  const liveOrg = and(eq(organizations.id, datasets.orgId), isNull(organizations.deletedAt));
  let row: { dataset: Dataset; role: Role } | undefined;
  if (principal.kind === "api_key") {
    const [[found]] = await guarded(c, [
      db
        .select({ dataset: datasets })
        .from(datasets)
        .innerJoin(projects, liveProject)
        .innerJoin(organizations, liveOrg)
        .where(and(visible, eq(datasets.orgId, principal.orgId))),
    ]);
    row = found && { dataset: found.dataset, role: keyRole(principal.scopes) };
  } else {
    [[row]] = await guarded(c, [
      db
        .select({ dataset: datasets, role: orgMembers.role })
        .from(datasets)
        .innerJoin(projects, liveProject)
        .innerJoin(organizations, liveOrg)
        .innerJoin(orgMembers, and(eq(orgMembers.orgId, datasets.orgId), eq(orgMembers.userId, principal.userId)))
        .where(visible),
    ]);
  }
  if (!row) throw new ApiError(404, { detail: "No dataset with this id is visible to you." });
  authorize(c, row.dataset.orgId, row.role, action);
  return row;
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
  const principal = principalOf(c);
  const db = c.get("services").rawDb;
  const visible = and(eq(analysisSessions.id, id), deleted ? isNotNull(analysisSessions.deletedAt) : isNull(analysisSessions.deletedAt));
  const liveProject = and(eq(projects.id, analysisSessions.projectId), isNull(projects.deletedAt));
  const liveOrg = and(eq(organizations.id, analysisSessions.orgId), isNull(organizations.deletedAt));
  const base = db
    .select({ session: analysisSessions, dataset: datasets, role: orgMembers.role })
    .from(analysisSessions)
    .innerJoin(datasets, eq(datasets.id, analysisSessions.datasetId))
    .innerJoin(projects, liveProject)
    .innerJoin(organizations, liveOrg);
  let row: { session: AnalysisSession; dataset: Dataset; role: Role } | undefined;
  if (principal.kind === "api_key") {
    const [[found]] = await guarded(c, [
      db
        .select({ session: analysisSessions, dataset: datasets })
        .from(analysisSessions)
        .innerJoin(datasets, eq(datasets.id, analysisSessions.datasetId))
        .innerJoin(projects, liveProject)
        .innerJoin(organizations, liveOrg)
        .where(and(visible, eq(analysisSessions.orgId, principal.orgId))),
    ]);
    row = found && { ...found, role: keyRole(principal.scopes) };
  } else {
    [[row]] = await guarded(c, [
      base.innerJoin(orgMembers, and(eq(orgMembers.orgId, analysisSessions.orgId), eq(orgMembers.userId, principal.userId))).where(visible),
    ]);
  }
  if (!row) throw new ApiError(404, { detail: deleted ? "No deleted session with this id is visible to you." : "No session with this id is visible to you." });
  authorize(c, row.session.orgId, row.role, action);
  return row;
}
