// Postgres data sources: the catalog, read-only paged queries, and imports into datasets.
import type { AppRouteHandler } from "../../lib/types.ts";
import { full } from "../datasets/datasets.handlers.ts";
import { importRows, postgresRows } from "../../services/data-sources/import.ts";
import { listSchemas, listTables, runQuery } from "../../services/data-sources/postgres.ts";
import { postgresTarget } from "../../services/data-sources/registry.ts";
import { requireDataSource } from "../../lib/tenancy.ts";
import type * as routes from "./data-source-postgres.routes.ts";

export const schemas: AppRouteHandler<typeof routes.schemas> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { source } = await requireDataSource(c, slug, id, "data_sources:read");
  return c.json({ data: await listSchemas(await postgresTarget(c.get("config"), source, c.get("trace").traceparent)) }, 200);
};

export const tables: AppRouteHandler<typeof routes.tables> = async (c) => {
  const { slug, id, schema } = c.req.valid("param");
  const { source } = await requireDataSource(c, slug, id, "data_sources:read");
  return c.json({ data: await listTables(await postgresTarget(c.get("config"), source, c.get("trace").traceparent), schema) }, 200);
};

export const query: AppRouteHandler<typeof routes.query> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { sql, offset, limit } = c.req.valid("json");
  const { source } = await requireDataSource(c, slug, id, "data_sources:query");
  const started = Date.now();
  const page = await runQuery(await postgresTarget(c.get("config"), source, c.get("trace").traceparent), sql, offset, limit);
  return c.json(
    {
      columns: page.columns,
      rows: page.rows,
      offset,
      limit,
      nextOffset: page.hasMore ? offset + page.rows.length : null,
      truncated: page.truncated,
      durationMs: Date.now() - started,
    },
    200,
  );
};

export const importQuery: AppRouteHandler<typeof routes.importQuery> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { sql, projectId, name } = c.req.valid("json");
  const { source } = await requireDataSource(c, slug, id, "data_sources:query");
  const rows = await postgresRows(c.get("config"), source, sql, c.get("trace").traceparent);
  const { dataset, created } = await importRows(c, projectId, name, rows);
  c.set("auditTarget", { type: "datasets", id: dataset.id });
  c.header(created ? "Location" : "Content-Location", `/api/v1/datasets/${dataset.id}`);
  return created ? c.json(full(dataset), 201) : c.json(full(dataset), 200);
};
