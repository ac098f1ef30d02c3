// Route definitions for browsing a Postgres data source: schemas, tables and views with columns and indexes, read-only queries, import.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { Dataset } from "../datasets/datasets.routes.ts";
import { SourceParams } from "../data-sources/data-sources.routes.ts";
import { Text } from "../schemas.ts";

const tags = ["Data sources: Postgres"];
const outbound = [400, 401, 403, 404, 409, 422, 502, 503, 504] as const;
const Identifier = Text.min(1).max(63).openapi({ example: "public" });
const Sql = Text.trim().min(1).max(100_000).openapi({
  description: "One reading statement (SELECT, WITH, VALUES, TABLE, EXPLAIN, SHOW)",
  example: "SELECT * FROM orders WHERE total > 100",
});

export const Schema = z.object({ name: z.string(), tables: z.number().int(), views: z.number().int() }).openapi("PostgresSchema");

export const Table = z
  .object({
    name: z.string(),
    kind: z.enum(["table", "foreign_table", "view", "materialized_view"]),
    estimatedRows: z.number().int().openapi({ description: "The planner's estimate (0 until analysed)" }),
    comment: z.string().nullable(),
    columns: z.array(z.object({ name: z.string(), type: z.string(), nullable: z.boolean(), default: z.string().nullable() })),
    indexes: z.array(z.object({ name: z.string(), definition: z.string(), unique: z.boolean(), primary: z.boolean() })),
  })
  .openapi("PostgresTable");

export const schemas = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/schemas",
  operationId: "listDataSourceSchemas",
  tags,
  summary: "The database's schemas, with how many tables and views each holds",
  ...authed,
  request: { params: SourceParams },
  responses: {
    200: { description: "Schemas", content: { "application/json": { schema: z.object({ data: z.array(Schema) }) } } },
    ...problemResponses(...outbound),
  },
});

export const tables = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/schemas/{schema}/tables",
  operationId: "listDataSourceTables",
  tags,
  summary: "Tables and views of a schema, with their columns and types and their indexes",
  ...authed,
  request: { params: SourceParams.extend({ schema: Identifier }) },
  responses: {
    200: { description: "Tables and views", content: { "application/json": { schema: z.object({ data: z.array(Table) }) } } },
    ...problemResponses(...outbound),
  },
});

export const QueryResult = z
  .object({
    columns: z.array(z.object({ name: z.string(), type: z.string() })),
    rows: z.array(z.array(z.unknown())).openapi({ description: "Arrays in column order; bigint and numeric as exact strings" }),
    offset: z.number().int(),
    limit: z.number().int(),
    nextOffset: z.number().int().nullable(),
    truncated: z
      .boolean()
      .openapi({ description: "Rows were left off to stay under DATA_SOURCE_MAX_RESULT_BYTES; continue from nextOffset" }),
    durationMs: z.number().int(),
  })
  .openapi("PostgresQueryResult");

export const query = createRoute({
  method: "post",
  path: "/orgs/{slug}/data-sources/{id}/query",
  operationId: "queryDataSource",
  tags,
  summary: "Run a read-only query and read one page of its rows (members and above)",
  description:
    "The statement runs in a read-only transaction with a statement timeout; anything that writes is 422 `QUERY_NOT_READ_ONLY`. Reading statements page through a server-side cursor (`offset`, `limit` ≤ 1,000), and a page is cut to DATA_SOURCE_MAX_RESULT_BYTES.",
  ...authed,
  request: {
    params: SourceParams,
    body: jsonBody(
      z
        .object({
          sql: Sql,
          offset: z.number().int().min(0).max(10_000_000).default(0),
          limit: z.number().int().min(1).max(1_000).default(100),
        })
        .strict(),
    ),
  },
  responses: {
    200: { description: "One page", content: { "application/json": { schema: QueryResult } } },
    ...problemResponses(...outbound, 415),
  },
});

export const importQuery = createRoute({
  method: "post",
  path: "/orgs/{slug}/data-sources/{id}/import",
  operationId: "importDataSourceQuery",
  tags,
  summary: "Save a read-only query's result as a new dataset version in a project (members and above)",
  description:
    "The rows go through the upload pipeline (R2, profile, sample), so the dataset reads back like an upload. More than DATA_SOURCE_IMPORT_MAX_ROWS rows is 422 `RESULT_TOO_LARGE`.",
  ...authed,
  request: {
    params: SourceParams,
    body: jsonBody(z.object({ sql: Sql, projectId: z.uuid(), name: Text.trim().min(1).max(200) }).strict()),
  },
  responses: {
    201: { description: "A new dataset version", content: { "application/json": { schema: Dataset } } },
    200: { description: "The same rows are already a dataset of the project", content: { "application/json": { schema: Dataset } } },
    ...problemResponses(...outbound, 413, 415),
  },
});
