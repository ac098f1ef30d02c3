// Projects: tenant-scoped CRUD with soft delete, restore, ETags and conditional writes.
import { and, eq, ilike, inArray, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import { orgMembers, organizations, projects } from "../../db/schema.ts";
import { etagOf, expectedVersion, notModified } from "../../lib/etag.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { ApiError } from "../../lib/problem.ts";
import { requireOrg, requireProject, type Project } from "../../lib/tenancy.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/types.ts";
import { guarded } from "../../lib/session-guard.ts";
import { principalOf } from "../../middleware/auth.ts";
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
  const principal = principalOf(c);
  const db = c.get("services").rawDb;
  // Only organizations the caller belongs to (an API key: its own); a slug outside them lists nothing.
  const scope =
    principal.kind === "api_key"
      ? eq(projects.orgId, principal.orgId)
      : inArray(projects.orgId, db.select({ id: orgMembers.orgId }).from(orgMembers).where(eq(orgMembers.userId, principal.userId)));
  const [rows] = await guarded(c, [
    db
      .select({ project: projects, org: organizations.slug })
      .from(projects)
      .innerJoin(organizations, and(eq(organizations.id, projects.orgId), isNull(organizations.deletedAt)))
      .where(and(scope, isNull(projects.deletedAt), org ? eq(organizations.slug, org) : undefined, q ? ilike(projects.name, `%${literal(q)}%`) : undefined, page.after))
      .orderBy(...page.order)
      .limit(limit + 1),
  ]);
  const { data, nextCursor } = toPage(c, rows, limit, ({ project }) => ({ at: project.createdAt, id: project.id }));
  return c.json({ data: data.map(({ project, org: slug }) => present(project, slug)), nextCursor }, 200);
};

/** Where a project goes when the request names no organization: the key's, or the person's personal one. */
async function defaultOrgSlug(c: Context<AppEnv>): Promise<string> {
  const principal = principalOf(c);
  const db = c.get("services").rawDb;
  const [[row]] =
    principal.kind === "api_key"
      ? await guarded(c, [db.select({ slug: organizations.slug }).from(organizations).where(eq(organizations.id, principal.orgId))])
      : await guarded(c, [
          db
            .select({ slug: organizations.slug })
            .from(organizations)
            .innerJoin(orgMembers, and(eq(orgMembers.orgId, organizations.id), eq(orgMembers.userId, principal.userId)))
            .where(and(eq(organizations.personal, true), eq(organizations.createdBy, principal.userId), isNull(organizations.deletedAt))),
        ]);
  if (!row) throw new ApiError(422, { detail: 'You have no personal organization: name one with "org".' });
  return row.slug;
}

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { org: slug, ...fields } = c.req.valid("json");
  const { org } = await requireOrg(c, slug ?? (await defaultOrgSlug(c)), "projects:write");
  const userId = principalOf(c).userId;
  const [project] = await c.get("services").db
    .insert(projects)
    .values({ id: crypto.randomUUID(), orgId: org.id, ...fields, settings: fields.settings ?? {}, createdBy: userId, updatedBy: userId })
    .returning();
  c.header("Location", `/api/v1/projects/${project!.id}`);
  c.set("auditTarget", { type: "projects", id: project!.id });
  return one(c, project!, org.slug, 201);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { project, orgSlug } = await requireProject(c, c.req.valid("param").id, "projects:read");
  const etag = etagOf(project.version);
  if (notModified(c, etag)) return c.body(null, 304, { ETag: etag });
  return one(c, project, orgSlug, 200);
};

/** Applies `changes` if the project is still at `expected` (when given): a lost race is a 412, not a silent overwrite. */
async function write(c: Context<AppEnv>, project: Project, expected: number | undefined, changes: Partial<typeof projects.$inferInsert>) {
  const [updated] = await c.get("services").db
    .update(projects)
    .set({ ...changes, version: sql`${projects.version} + 1`, updatedAt: sql`now()`, updatedBy: principalOf(c).userId })
    .where(and(eq(projects.id, project.id), expected === undefined ? undefined : eq(projects.version, expected)))
    .returning();
  if (!updated) throw new ApiError(412, { detail: "The project changed while this request was on its way; fetch it again and retry." });
  return updated;
}

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
    throw new ApiError(410, { detail: `This project was deleted over ${c.get("config").RETENTION_DAYS} days ago and can no longer be restored.` });
  }
  return one(c, await write(c, project, undefined, { deletedAt: null }), orgSlug, 200);
};
