// Saved queries: shared in the organization; members save, the creator or an admin changes or deletes; ETag and If-Match.
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { savedQueries } from "../../db/schema.ts";
import { etagged, etagOf, expectedVersion } from "../../lib/etag.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { allows } from "../../lib/policy.ts";
import { principalOf } from "../../lib/principal.ts";
import { ApiError } from "../../lib/problem.ts";
import { type DataSource, requireDataSource } from "../../lib/tenancy.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/types.ts";
import { versionedWrite } from "../../lib/versioned-write.ts";
import { expectKind } from "../../services/data-sources/registry.ts";
import { readableStatement } from "../../services/data-sources/sql-policy.ts";
import type * as routes from "./saved-queries.routes.ts";

type SavedQuery = typeof savedQueries.$inferSelect;

const present = (row: SavedQuery) => ({
  id: row.id,
  sourceId: row.sourceId,
  name: row.name,
  description: row.description,
  sql: row.sql,
  params: row.params,
  createdBy: row.createdBy,
  updatedBy: row.updatedBy,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

const nameTaken = (name: string) => new ApiError(409, { detail: `This data source already has a saved query named "${name}".` });
const isUniqueViolation = (error: unknown) =>
  (error as { code?: string }).code === "23505" || (error as { cause?: { code?: string } }).cause?.code === "23505";

/** Saved query `queryId` of the source, for a caller allowed `action` on it. */
async function requireSaved(c: Context<AppEnv>, params: { slug: string; id: string; queryId: string }, action: "read" | "write") {
  const { source, role } = await requireDataSource(
    c,
    params.slug,
    params.id,
    action === "read" ? "data_sources:read" : "data_sources:query",
  );
  const [row] = await c
    .get("services")
    .db.select()
    .from(savedQueries)
    .where(and(eq(savedQueries.id, params.queryId), eq(savedQueries.sourceId, source.id)));
  if (!row) throw new ApiError(404, { detail: "No saved query with this id on this data source." });
  // Shared with the organization, changed by whoever wrote it or by an admin.
  if (action === "write" && row.createdBy !== principalOf(c).userId && !allows(role, "data_sources:manage")) {
    throw new ApiError(403, {
      code: "FORBIDDEN",
      detail: "Only the person who saved this query, or an admin, can change or delete it.",
    });
  }
  return { source, row };
}

/** The text must be a query POST …/query would run: one reading statement, with as many parameters as it uses. */
async function checkQuery(source: DataSource, text: string, params: unknown[]) {
  expectKind(source, "postgres");
  await readableStatement(text, params.length);
}

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { limit, cursor } = c.req.valid("query");
  const { source } = await requireDataSource(c, slug, id, "data_sources:read");
  const page = keyset(savedQueries.createdAt, savedQueries.id, cursor);
  const rows = await c
    .get("services")
    .db.select()
    .from(savedQueries)
    .where(and(eq(savedQueries.sourceId, source.id), page.after))
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.createdAt, id: row.id }));
  return c.json({ data: data.map(present), nextCursor }, 200);
};

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const body = c.req.valid("json");
  const { org, source } = await requireDataSource(c, slug, id, "data_sources:query");
  await checkQuery(source, body.sql, body.params);
  const userId = principalOf(c).userId;
  const queryId = crypto.randomUUID();
  const [row] = await c
    .get("services")
    .db.insert(savedQueries)
    .values({
      id: queryId,
      orgId: org.id,
      sourceId: source.id,
      name: body.name,
      description: body.description ?? null,
      sql: body.sql,
      params: body.params,
      createdBy: userId,
      updatedBy: userId,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw nameTaken(body.name);
  c.set("auditTarget", { type: "saved-queries", id: queryId });
  c.header("Location", `/api/v1/orgs/${org.slug}/data-sources/${source.id}/saved-queries/${queryId}`);
  c.header("ETag", etagOf(row.version));
  return c.json(present(row), 201);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { row } = await requireSaved(c, c.req.valid("param"), "read");
  return etagged(c, etagOf(row.version), () => c.json(present(row), 200));
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const { source, row } = await requireSaved(c, c.req.valid("param"), "write");
  const expected = expectedVersion(c, row.version);
  const changes = c.req.valid("json");
  if (changes.sql !== undefined || changes.params !== undefined) {
    await checkQuery(source, changes.sql ?? row.sql, changes.params ?? row.params);
  }
  const updated =
    Object.keys(changes).length === 0
      ? row
      : await versionedWrite(c, savedQueries, { id: row.id, noun: "saved query" }, expected, changes).catch((error: unknown) => {
          if (isUniqueViolation(error)) throw nameTaken(changes.name ?? "");
          throw error;
        });
  c.header("ETag", etagOf(updated.version));
  return c.json(present(updated), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { row } = await requireSaved(c, c.req.valid("param"), "write");
  const expected = expectedVersion(c, row.version);
  const [gone] = await c
    .get("services")
    .db.delete(savedQueries)
    .where(and(eq(savedQueries.id, row.id), expected === undefined ? undefined : eq(savedQueries.version, expected)))
    .returning({ id: savedQueries.id });
  if (!gone) throw new ApiError(412, { detail: "The saved query changed while this request was on its way; fetch it again and retry." });
  return c.body(null, 204);
};
