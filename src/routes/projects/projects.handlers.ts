// Projects: tenant-scoped CRUD with soft delete, restore, ETags and conditional writes.
import { and, eq, ilike, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import { orgMembers, organizations, projects, roles } from "../../db/schema.ts";
import { allows } from "../../lib/policy.ts";
import { etagOf, expectedVersion, etagged } from "../../lib/etag.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { ApiError } from "../../lib/problem.ts";
import { versionedWrite } from "../../lib/versioned-write.ts";
import { requireOrg, requireProject, type Project, visibleOrgs } from "../../lib/tenancy.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/types.ts";
import { guarded } from "../../lib/session-guard.ts";
import { principalOf } from "../../lib/principal.ts";
import type * as routes from "./projects.routes.ts";

const iso = (date: Date | null) => date?.toISOString() ?? null;

export const present = (project: Project, org: string) => ({
  id: project.id,
  org,
  name: project.name,
  description: project.description,
  color: project.color,
  icon: project.icon,
  settings: project.settings,
  createdBy: project.createdBy,
  updatedBy: project.updatedBy,
  createdAt: project.createdAt.toISOString(),
  updatedAt: project.updatedAt.toISOString(),
  deletedAt: iso(project.deletedAt),
});

/** Answers one project with its ETag. */
function one<S extends 200 | 201>(c: Context<AppEnv>, project: Project, org: string, status: S) {
  c.header("ETag", etagOf(project.version));
  return c.json(present(project, org), status);
}

/** LIKE wildcards in a search are literal characters. */
const literal = (text: string) => text.replaceAll(/[\\%_]/g, (char) => `\\${char}`);

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { limit, cursor, org, q } = c.req.valid("query");
  const page = keyset(projects.createdAt, projects.id, cursor);
  // Only organizations the caller belongs to (an API key: its own); a slug outside them lists nothing.
  const scope = visibleOrgs(c, projects.orgId);
  const [rows] = await guarded(c, (db) => [
    db
      .select({ project: projects, org: organizations.slug })
      .from(projects)
      .innerJoin(organizations, and(eq(organizations.id, projects.orgId), isNull(organizations.deletedAt)))
      .where(
        and(
          scope,
          isNull(projects.deletedAt),
          org ? eq(organizations.slug, org) : undefined,
          q ? ilike(projects.name, `%${literal(q)}%`) : undefined,
          page.after,
        ),
      )
      .orderBy(...page.order)
      .limit(limit + 1),
  ]);
  const { data, nextCursor } = toPage(c, rows, limit, ({ project }) => ({ at: project.createdAt, id: project.id }));
  return c.json({ data: data.map(({ project, org: slug }) => present(project, slug)), nextCursor }, 200);
};

/** Where a project goes when the request names no organization: the key's, or the person's personal one. */
async function defaultOrgSlug(c: Context<AppEnv>): Promise<string> {
  const principal = principalOf(c);
  const [[row]] =
    principal.kind === "api_key"
      ? await guarded(c, (db) => [db.select({ slug: organizations.slug }).from(organizations).where(eq(organizations.id, principal.orgId))])
      : await guarded(c, (db) => [
          db
            .select({ slug: organizations.slug })
            .from(organizations)
            .innerJoin(orgMembers, and(eq(orgMembers.orgId, organizations.id), eq(orgMembers.userId, principal.userId)))
            .where(and(eq(organizations.personal, true), eq(organizations.createdBy, principal.userId), isNull(organizations.deletedAt))),
        ]);
  if (!row) throw new ApiError(422, { detail: 'You have no personal organization: name one with "org".' });
  return row.slug;
}

/** Roles that may create projects (the policy's projects:write and above). */
const writers = sql.raw(
  `(${roles
    .filter((role) => allows(role, "projects:write"))
    .map((role) => `'${role}'`)
    .join(", ")})`,
);

/**
 * One round trip: the insert happens only where the caller may write (the organization named, or
 * by default the personal one or the API key's). When nothing was inserted, the slower path finds
 * out why (404, 403 or 422) and answers that.
 */
export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { org: slug, ...fields } = c.req.valid("json");
  const principal = principalOf(c);
  const target =
    principal.kind === "api_key"
      ? sql`SELECT o.id, o.slug FROM organizations o WHERE o.id = ${principal.orgId} AND o.deleted_at IS NULL ${slug ? sql`AND o.slug = ${slug}` : sql``}`
      : sql`SELECT o.id, o.slug FROM organizations o JOIN org_members m ON m.org_id = o.id AND m.user_id = ${principal.userId} AND m.role IN ${writers}
            WHERE o.deleted_at IS NULL AND ${slug ? sql`o.slug = ${slug}` : sql`o.personal AND o.created_by = ${principal.userId}`}`;
  const id = crypto.randomUUID();
  const [inserted] = await guarded(c, (db) => [
    db.execute<Record<string, unknown> & { org_slug: string }>(sql`
      WITH target AS (${target}),
      created AS (
        INSERT INTO projects (id, org_id, name, description, color, icon, settings, created_by, updated_by)
        SELECT ${id}, target.id, ${fields.name}, ${fields.description ?? null}, ${fields.color ?? null}, ${fields.icon ?? null},
               ${JSON.stringify(fields.settings ?? {})}::jsonb, ${principal.userId}, ${principal.userId}
        FROM target RETURNING *
      )
      SELECT created.*, target.slug AS org_slug FROM created, target`),
  ]);
  const row = inserted.rows[0];
  if (!row) {
    // Not allowed, or no such organization: requireOrg says which, as it would for any route.
    await requireOrg(c, slug ?? (await defaultOrgSlug(c)), "projects:write");
    throw new ApiError(409, { code: "CONFLICT", detail: "The organization changed while the project was being created; retry." });
  }
  const project = fromRow(row);
  c.set("orgId", project.orgId);
  c.header("Location", `/api/v1/projects/${id}`);
  c.set("auditTarget", { type: "projects", id });
  return one(c, project, row.org_slug, 201);
};

/** A raw `projects` row (snake_case, timestamps as text) as drizzle would have mapped it. */
function fromRow(row: Record<string, unknown>): Project {
  const date = (value: unknown) => (value === null ? null : (projects.createdAt.mapFromDriverValue(value as string) as Date));
  return {
    id: row.id as string,
    orgId: row.org_id as string,
    name: row.name as string,
    description: row.description as string | null,
    color: row.color as string | null,
    icon: row.icon as string | null,
    settings: row.settings as Record<string, unknown>,
    version: row.version as number,
    createdBy: row.created_by as string | null,
    updatedBy: row.updated_by as string | null,
    createdAt: date(row.created_at)!,
    updatedAt: date(row.updated_at)!,
    deletedAt: date(row.deleted_at),
  };
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { project, orgSlug } = await requireProject(c, c.req.valid("param").id, "projects:read");
  return etagged(c, etagOf(project.version), () => c.json(present(project, orgSlug), 200));
};

/** Applies `changes` if the project is still at `expected` (when given). */
const write = (c: Context<AppEnv>, project: Project, expected: number | undefined, changes: Partial<typeof projects.$inferInsert>) =>
  versionedWrite(c, projects, { id: project.id, noun: "project" }, expected, changes);

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const { project, orgSlug } = await requireProject(c, c.req.valid("param").id, "projects:write");
  const expected = expectedVersion(c, project.version);
  const changes = c.req.valid("json");
  if (Object.keys(changes).length === 0) return one(c, project, orgSlug, 200);
  return one(c, await write(c, project, expected, changes), orgSlug, 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { project } = await requireProject(c, c.req.valid("param").id, "projects:delete");
  await write(c, project, expectedVersion(c, project.version), { deletedAt: sql`now()` as unknown as Date });
  return c.body(null, 204);
};

export const restore: AppRouteHandler<typeof routes.restore> = async (c) => {
  const { project, orgSlug } = await requireProject(c, c.req.valid("param").id, "projects:delete", { deleted: true });
  const retentionMs = c.get("config").RETENTION_DAYS * 86_400_000;
  if (project.deletedAt && Date.now() - project.deletedAt.getTime() > retentionMs) {
    throw new ApiError(410, {
      detail: `This project was deleted over ${c.get("config").RETENTION_DAYS} days ago and can no longer be restored.`,
    });
  }
  return one(c, await write(c, project, undefined, { deletedAt: null }), orgSlug, 200);
};
