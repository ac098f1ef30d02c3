// Analysis sessions: tenant-scoped CRUD with soft delete, restore, ETags and conditional writes.
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import { analysisSessions, organizations } from "../../db/schema.ts";
import { etagOf, expectedVersion, etagged } from "../../lib/etag.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { ApiError } from "../../lib/problem.ts";
import { versionedWrite } from "../../lib/versioned-write.ts";
import { guarded } from "../../lib/session-guard.ts";
import { type AnalysisSession, requireDataset, requireSession, visibleOrgs } from "../../lib/tenancy.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/types.ts";
import { principalOf } from "../../lib/principal.ts";
import type * as routes from "./sessions.routes.ts";

export const present = (session: AnalysisSession) => ({
  id: session.id,
  projectId: session.projectId,
  datasetId: session.datasetId,
  title: session.title,
  createdBy: session.createdBy,
  updatedBy: session.updatedBy,
  createdAt: session.createdAt.toISOString(),
  updatedAt: session.updatedAt.toISOString(),
  deletedAt: session.deletedAt?.toISOString() ?? null,
});

function one<S extends 200 | 201>(c: Context<AppEnv>, session: AnalysisSession, status: S) {
  c.header("ETag", etagOf(session.version));
  return c.json(present(session), status);
}

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { limit, cursor, org, projectId, datasetId } = c.req.valid("query");
  const page = keyset(analysisSessions.createdAt, analysisSessions.id, cursor);
  const scope = visibleOrgs(c, analysisSessions.orgId);
  const [rows] = await guarded(c, (db) => [
    db
      .select({ session: analysisSessions })
      .from(analysisSessions)
      .innerJoin(organizations, and(eq(organizations.id, analysisSessions.orgId), isNull(organizations.deletedAt)))
      .where(
        and(
          scope,
          isNull(analysisSessions.deletedAt),
          org ? eq(organizations.slug, org) : undefined,
          projectId ? eq(analysisSessions.projectId, projectId) : undefined,
          datasetId ? eq(analysisSessions.datasetId, datasetId) : undefined,
          page.after,
        ),
      )
      .orderBy(...page.order)
      .limit(limit + 1),
  ]);
  const { data, nextCursor } = toPage(c, rows, limit, ({ session }) => ({ at: session.createdAt, id: session.id }));
  return c.json({ data: data.map(({ session }) => present(session)), nextCursor }, 200);
};

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { datasetId, title } = c.req.valid("json");
  const { dataset } = await requireDataset(c, datasetId, "sessions:write");
  const userId = principalOf(c).userId;
  const [session] = await c
    .get("services")
    .db.insert(analysisSessions)
    .values({
      id: crypto.randomUUID(),
      orgId: dataset.orgId,
      projectId: dataset.projectId,
      datasetId,
      title: title ?? dataset.name,
      createdBy: userId,
      updatedBy: userId,
    })
    .returning();
  c.header("Location", `/api/v1/sessions/${session!.id}`);
  c.set("auditTarget", { type: "sessions", id: session!.id });
  return one(c, session!, 201);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { session } = await requireSession(c, c.req.valid("param").id, "sessions:read");
  return etagged(c, etagOf(session.version), () => c.json(present(session), 200));
};

/** Applies `changes` if the session is still at `expected` (when given). */
const write = (
  c: Context<AppEnv>,
  session: AnalysisSession,
  expected: number | undefined,
  changes: Partial<typeof analysisSessions.$inferInsert>,
) => versionedWrite(c, analysisSessions, { id: session.id, noun: "session" }, expected, changes);

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const { session } = await requireSession(c, c.req.valid("param").id, "sessions:write");
  const expected = expectedVersion(c, session.version);
  const changes = c.req.valid("json");
  if (Object.keys(changes).length === 0) return one(c, session, 200);
  return one(c, await write(c, session, expected, changes), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { session } = await requireSession(c, c.req.valid("param").id, "sessions:write");
  await write(c, session, expectedVersion(c, session.version), { deletedAt: sql`now()` as unknown as Date });
  return c.body(null, 204);
};

export const restore: AppRouteHandler<typeof routes.restore> = async (c) => {
  const { session } = await requireSession(c, c.req.valid("param").id, "sessions:write", { deleted: true });
  const days = c.get("config").RETENTION_DAYS;
  if (session.deletedAt && Date.now() - session.deletedAt.getTime() > days * 86_400_000) {
    throw new ApiError(410, { detail: `This session was deleted over ${days} days ago and can no longer be restored.` });
  }
  return one(c, await write(c, session, undefined, { deletedAt: null }), 200);
};
