// Postgres data sources: the catalog, TypeScript types, read-only paged queries (with bind parameters or as a plan), the
// caller's query history, and imports into datasets.
import type { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { dataSourceQueries } from "../../db/schema.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { principalOf } from "../../lib/principal.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/types.ts";
import { full } from "../datasets/datasets.handlers.ts";
import { importRows, postgresRows } from "../../services/data-sources/import.ts";
import { type CatalogKind, catalogPage, typeCatalog } from "../../services/data-sources/postgres-catalog.ts";
import { typescriptTypes } from "../../services/data-sources/postgres-typescript.ts";
import { explain, listSchemas, runQuery } from "../../services/data-sources/postgres.ts";
import { recordQuery } from "../../services/data-sources/query-history.ts";
import { postgresTarget } from "../../services/data-sources/registry.ts";
import { ApiError } from "../../lib/problem.ts";
import { requireDataSource } from "../../lib/tenancy.ts";
import { recordUsage } from "../../services/usage/record.ts";
import type * as routes from "./data-source-postgres.routes.ts";

export const schemas: AppRouteHandler<typeof routes.schemas> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { source } = await requireDataSource(c, slug, id, "data_sources:read");
  return c.json({ data: await listSchemas(await postgresTarget(c.get("config"), source, c.get("trace").traceparent)) }, 200);
};

/** One page of a catalog kind, with `Link: rel="next"` as every list has. */
async function catalog<T>(c: Context<AppEnv>, kind: CatalogKind, params: { slug: string; id: string; schema?: string }, page: Page) {
  const { source } = await requireDataSource(c, params.slug, params.id, "data_sources:read");
  const target = await postgresTarget(c.get("config"), source, c.get("trace").traceparent);
  const result = await catalogPage(target, kind, params.schema ?? null, page);
  if (result.nextCursor) {
    const next = new URL(c.req.url);
    next.searchParams.set("cursor", result.nextCursor);
    next.searchParams.set("limit", String(page.limit));
    c.header("Link", `<${next.pathname}${next.search}>; rel="next"`);
  }
  return result as { data: T[]; nextCursor: string | null };
}
type Page = { limit: number; cursor?: string | undefined };

export const tables: AppRouteHandler<typeof routes.tables> = async (c) =>
  c.json(await catalog<z.infer<typeof routes.Table>>(c, "tables", c.req.valid("param"), c.req.valid("query")), 200);
export const views: AppRouteHandler<typeof routes.views> = async (c) =>
  c.json(await catalog<z.infer<typeof routes.View>>(c, "views", c.req.valid("param"), c.req.valid("query")), 200);
export const functions: AppRouteHandler<typeof routes.functions> = async (c) =>
  c.json(await catalog<z.infer<typeof routes.PgFunction>>(c, "functions", c.req.valid("param"), c.req.valid("query")), 200);
export const types: AppRouteHandler<typeof routes.types> = async (c) =>
  c.json(await catalog<z.infer<typeof routes.PgType>>(c, "types", c.req.valid("param"), c.req.valid("query")), 200);
export const policies: AppRouteHandler<typeof routes.policies> = async (c) =>
  c.json(await catalog<z.infer<typeof routes.Policy>>(c, "policies", c.req.valid("param"), c.req.valid("query")), 200);
export const triggers: AppRouteHandler<typeof routes.triggers> = async (c) =>
  c.json(await catalog<z.infer<typeof routes.Trigger>>(c, "triggers", c.req.valid("param"), c.req.valid("query")), 200);
export const foreignTables: AppRouteHandler<typeof routes.foreignTables> = async (c) =>
  c.json(await catalog<z.infer<typeof routes.ForeignTable>>(c, "foreign-tables", c.req.valid("param"), c.req.valid("query")), 200);
export const extensions: AppRouteHandler<typeof routes.extensions> = async (c) =>
  c.json(await catalog<z.infer<typeof routes.Extension>>(c, "extensions", c.req.valid("param"), c.req.valid("query")), 200);
export const publications: AppRouteHandler<typeof routes.publications> = async (c) =>
  c.json(await catalog<z.infer<typeof routes.Publication>>(c, "publications", c.req.valid("param"), c.req.valid("query")), 200);

export const typescript: AppRouteHandler<typeof routes.typescript> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { schema } = c.req.valid("query");
  const { source } = await requireDataSource(c, slug, id, "data_sources:read");
  const catalog = await typeCatalog(await postgresTarget(c.get("config"), source, c.get("trace").traceparent), schema);
  return c.text(typescriptTypes(catalog), 200, { "Content-Type": "text/plain; charset=utf-8" });
};

export const query: AppRouteHandler<typeof routes.query> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { sql, params, explain: plan, offset, limit } = c.req.valid("json");
  const { source } = await requireDataSource(c, slug, id, "data_sources:query");
  const target = await postgresTarget(c.get("config"), source, c.get("trace").traceparent);
  const started = Date.now();
  const run = { sql, params, explain: plan !== false };
  try {
    if (plan !== false) {
      if (plan !== true && plan.analyze) {
        throw new ApiError(422, {
          code: "QUERY_NOT_ALLOWED",
          detail: "EXPLAIN ANALYZE runs the query, so it is refused here; ask for the plan alone.",
        });
      }
      const result = await explain(target, sql, params, { verbose: plan !== true && plan.verbose === true });
      const durationMs = Date.now() - started;
      recordQuery(c, source, { ...run, durationMs, rowCount: null });
      recordUsage(c, { dataSourceQueries: 1 });
      // One response shape for both: the plan is also the query's one row, so a grid shows it as it shows rows.
      const steps = result as unknown[];
      return c.json(
        {
          columns: [{ name: "QUERY PLAN", type: "json" }],
          rows: [[steps]],
          offset: 0,
          limit,
          nextOffset: null,
          truncated: false,
          durationMs,
          plan: steps,
        },
        200,
      );
    }
    const page = await runQuery(target, sql, offset, limit, params);
    const durationMs = Date.now() - started;
    recordQuery(c, source, { ...run, durationMs, rowCount: page.rows.length });
    recordUsage(c, { dataSourceQueries: 1 });
    return c.json(
      {
        columns: page.columns,
        rows: page.rows,
        offset,
        limit,
        nextOffset: page.hasMore ? offset + page.rows.length : null,
        truncated: page.truncated,
        durationMs,
      },
      200,
    );
  } catch (error) {
    recordQuery(c, source, { ...run, durationMs: Date.now() - started, rowCount: null }, error);
    throw error;
  }
};

export const history: AppRouteHandler<typeof routes.history> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { limit, cursor, status } = c.req.valid("query");
  const { source } = await requireDataSource(c, slug, id, "data_sources:read");
  const page = keyset(dataSourceQueries.createdAt, dataSourceQueries.id, cursor);
  const rows = await c
    .get("services")
    .db.select()
    .from(dataSourceQueries)
    .where(
      and(
        eq(dataSourceQueries.sourceId, source.id),
        eq(dataSourceQueries.userId, principalOf(c).userId),
        status ? eq(dataSourceQueries.status, status) : undefined,
        page.after,
      ),
    )
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.createdAt, id: row.id }));
  return c.json(
    {
      data: data.map((row) => ({
        id: row.id,
        sql: row.sql,
        params: row.params,
        explain: row.explain,
        status: row.status,
        errorCode: row.errorCode,
        durationMs: row.durationMs,
        rowCount: row.rowCount,
        createdAt: row.createdAt.toISOString(),
      })),
      nextCursor,
    },
    200,
  );
};

export const importQuery: AppRouteHandler<typeof routes.importQuery> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { sql, params, projectId, name } = c.req.valid("json");
  const { source } = await requireDataSource(c, slug, id, "data_sources:query");
  const rows = await postgresRows(c.get("config"), source, sql, c.get("trace").traceparent, params);
  recordUsage(c, { dataSourceQueries: 1 });
  const { dataset, created } = await importRows(c, projectId, name, rows);
  c.set("auditTarget", { type: "datasets", id: dataset.id });
  c.header(created ? "Location" : "Content-Location", `/api/v1/datasets/${dataset.id}`);
  return created ? c.json(full(dataset), 201) : c.json(full(dataset), 200);
};
