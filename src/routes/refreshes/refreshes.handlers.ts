// Scheduled refreshes: CRUD for a data source's imports saved with a schedule (the cron runs them: src/cron/run-refreshes.ts).
import { and, eq, isNull } from "drizzle-orm";
import { analysisSessions, dataRefreshes } from "../../db/schema.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { principalOf } from "../../lib/principal.ts";
import { ApiError } from "../../lib/problem.ts";
import { requireDataSource, requireProject } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import type * as routes from "./refreshes.routes.ts";

type Row = typeof dataRefreshes.$inferSelect;
const PERIOD_MS = { hourly: 3_600_000, daily: 86_400_000, weekly: 604_800_000 } as const;

const present = (r: Row) => ({
  id: r.id,
  dataSourceId: r.dataSourceId,
  projectId: r.projectId,
  name: r.datasetName,
  schedule: r.schedule,
  import: r.request,
  rerunAnalysisOf: r.rerunSessionId,
  nextRunAt: r.nextRunAt.toISOString(),
  running: r.runningSince !== null,
  lastRunAt: r.lastRunAt?.toISOString() ?? null,
  lastStatus: r.lastStatus,
  lastError: r.lastError,
  lastDatasetId: r.lastDatasetId,
  lastAnalysisId: r.lastAnalysisId,
  runs: r.runs,
  createdBy: r.createdBy,
  createdAt: r.createdAt.toISOString(),
});

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const body = c.req.valid("json");
  // Each run queries the source and writes a dataset: both a member's rights, checked now (another organization's is a 404).
  const { org, source } = await requireDataSource(c, c.req.valid("param").slug, c.req.valid("param").id, "data_sources:query");
  if (source.kind !== body.import.kind) {
    throw new ApiError(422, {
      code: "VALIDATION_FAILED",
      detail: `This data source is ${source.kind}; the import is for ${body.import.kind}.`,
      errors: [{ path: "body.import.kind", message: `must be ${source.kind}` }],
    });
  }
  const { project } = await requireProject(c, body.projectId, "datasets:write");
  if (project.orgId !== org.id) throw new ApiError(404, { detail: "No project with this id is visible to you in this organization." });
  const db = c.get("services").db;
  if (body.rerunAnalysisOf) {
    const [session] = await db
      .select({ id: analysisSessions.id })
      .from(analysisSessions)
      .where(
        and(eq(analysisSessions.id, body.rerunAnalysisOf), eq(analysisSessions.projectId, project.id), isNull(analysisSessions.deletedAt)),
      );
    if (!session) throw new ApiError(404, { detail: "No session with this id in the project is visible to you." });
  }
  const nextRunAt = body.firstRunAt ? new Date(body.firstRunAt) : new Date(Date.now() + PERIOD_MS[body.schedule]);
  const [row] = await db
    .insert(dataRefreshes)
    .values({
      id: crypto.randomUUID(),
      orgId: org.id,
      dataSourceId: source.id,
      projectId: project.id,
      datasetName: body.name,
      request: body.import,
      schedule: body.schedule,
      rerunSessionId: body.rerunAnalysisOf ?? null,
      nextRunAt,
      createdBy: principalOf(c).userId,
    })
    .returning();
  c.set("auditTarget", { type: "data_refreshes", id: row!.id });
  c.header("Location", `/api/v1/orgs/${org.slug}/data-sources/${source.id}/refreshes/${row!.id}`);
  return c.json(present(row!), 201);
};

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { limit, cursor } = c.req.valid("query");
  const { source } = await requireDataSource(c, slug, id, "data_sources:read");
  const page = keyset(dataRefreshes.createdAt, dataRefreshes.id, cursor);
  const rows = await c
    .get("services")
    .db.select()
    .from(dataRefreshes)
    .where(and(eq(dataRefreshes.dataSourceId, source.id), page.after))
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.createdAt, id: row.id }));
  return c.json({ data: data.map(present), nextCursor }, 200);
};

async function requireRefresh(c: Parameters<AppRouteHandler<typeof routes.get>>[0], action: "data_sources:read" | "data_sources:query") {
  const { slug, id, refreshId } = c.req.valid("param");
  const { source } = await requireDataSource(c, slug, id, action);
  const [row] = await c
    .get("services")
    .db.select()
    .from(dataRefreshes)
    .where(and(eq(dataRefreshes.id, refreshId), eq(dataRefreshes.dataSourceId, source.id)));
  if (!row) throw new ApiError(404, { detail: "No scheduled refresh with this id is visible to you." });
  return row;
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => c.json(present(await requireRefresh(c, "data_sources:read")), 200);

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const row = await requireRefresh(c, "data_sources:query");
  await c.get("services").db.delete(dataRefreshes).where(eq(dataRefreshes.id, row.id));
  return c.body(null, 204);
};
