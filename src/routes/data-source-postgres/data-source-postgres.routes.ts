// Route definitions for browsing a Postgres data source: schemas, tables and views with columns and indexes, read-only queries, import.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { Dataset } from "../datasets/datasets.routes.ts";
import { SourceParams } from "../data-sources/data-sources.routes.ts";
import { sourceQueryStatuses } from "../../db/schema.ts";
import { Text, Timestamp } from "../schemas.ts";

const tags = ["Data sources: Postgres"];
const outbound = [400, 401, 403, 404, 409, 422, 502, 503, 504] as const;
const Identifier = Text.min(1).max(63).openapi({ example: "public" });
const Sql = Text.trim().min(1).max(100_000).openapi({
  description: "One reading statement (SELECT, WITH, VALUES, TABLE, EXPLAIN, SHOW)",
  example: "SELECT * FROM orders WHERE total > 100",
});

export const Schema = z.object({ name: z.string(), tables: z.number().int(), views: z.number().int() }).openapi("PostgresSchema");

const Column = z
  .object({ name: z.string(), type: z.string(), nullable: z.boolean(), default: z.string().nullable(), comment: z.string().nullable() })
  .openapi("PostgresColumn");

export const Table = z
  .object({
    name: z.string(),
    kind: z.enum(["table", "foreign_table", "view", "materialized_view"]),
    estimatedRows: z.number().int().openapi({ description: "The planner's estimate (0 until analysed)" }),
    comment: z.string().nullable(),
    rlsEnabled: z.boolean().openapi({ description: "Row-level security is on (ALTER TABLE … ENABLE ROW LEVEL SECURITY)" }),
    rlsForced: z.boolean().openapi({ description: "…and applies to the table's owner too (FORCE ROW LEVEL SECURITY)" }),
    columns: z.array(Column),
    primaryKey: z.object({ name: z.string(), columns: z.array(z.string()) }).nullable(),
    foreignKeys: z.array(
      z.object({
        name: z.string(),
        columns: z.array(z.string()),
        referencedSchema: z.string(),
        referencedTable: z.string(),
        referencedColumns: z.array(z.string()),
        onUpdate: z.string(),
        onDelete: z.string(),
      }),
    ),
    indexes: z.array(z.object({ name: z.string(), definition: z.string(), unique: z.boolean(), primary: z.boolean() })),
  })
  .openapi("PostgresTable");

export const View = z
  .object({
    name: z.string(),
    kind: z.enum(["view", "materialized_view"]),
    definition: z.string().nullable(),
    populated: z.boolean().nullable().openapi({ description: "A materialized view holds data (null for a plain view)" }),
    comment: z.string().nullable(),
    columns: z.array(Column),
  })
  .openapi("PostgresView");

export const PgFunction = z
  .object({
    name: z.string(),
    kind: z.enum(["function", "procedure", "aggregate", "window"]),
    arguments: z.string().openapi({ example: "customer integer, since date" }),
    returns: z.string().nullable(),
    language: z.string(),
    volatility: z.enum(["immutable", "stable", "volatile"]),
    securityDefiner: z.boolean(),
    comment: z.string().nullable(),
    extension: z.string().nullable().openapi({ description: "The extension that owns it, if any" }),
    definition: z.string().nullable().openapi({ description: "CREATE FUNCTION text (null for aggregates)" }),
  })
  .openapi("PostgresFunction");

export const PgType = z
  .object({
    name: z.string(),
    kind: z.enum(["enum", "composite", "domain"]),
    values: z.array(z.string()).nullable().openapi({ description: "An enum's labels, in order" }),
    attributes: z.array(z.object({ name: z.string(), type: z.string() })).nullable(),
    baseType: z.string().nullable().openapi({ description: "A domain's base type" }),
    comment: z.string().nullable(),
  })
  .openapi("PostgresType");

export const Policy = z
  .object({
    name: z.string(),
    table: z.string(),
    command: z.enum(["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"]),
    permissive: z.boolean(),
    roles: z.array(z.string()),
    using: z.string().nullable(),
    withCheck: z.string().nullable(),
  })
  .openapi("PostgresPolicy");

export const Trigger = z
  .object({
    name: z.string(),
    table: z.string(),
    timing: z.enum(["BEFORE", "AFTER", "INSTEAD OF"]),
    events: z.array(z.enum(["INSERT", "UPDATE", "DELETE", "TRUNCATE"])),
    level: z.enum(["ROW", "STATEMENT"]),
    function: z.string(),
    enabled: z.boolean(),
    definition: z.string(),
  })
  .openapi("PostgresTrigger");

export const ForeignTable = z
  .object({ name: z.string(), server: z.string(), wrapper: z.string(), options: z.array(z.string()), columns: z.array(Column) })
  .openapi("PostgresForeignTable");

export const Extension = z
  .object({
    name: z.string(),
    version: z.string(),
    schema: z.string(),
    defaultVersion: z.string().nullable(),
    comment: z.string().nullable(),
  })
  .openapi("PostgresExtension");

export const Publication = z
  .object({
    name: z.string(),
    allTables: z.boolean(),
    operations: z.object({ insert: z.boolean(), update: z.boolean(), delete: z.boolean(), truncate: z.boolean() }),
    tables: z.array(z.object({ schema: z.string(), table: z.string() })).openapi({ description: "Empty when allTables" }),
  })
  .openapi("PostgresPublication");

const SchemaParams = SourceParams.extend({ schema: Identifier });

/** A paged list of one catalog kind, in byte order of name. */
const catalogRoute = <Path extends `/${string}`, T extends z.ZodTypeAny, P extends typeof SourceParams | typeof SchemaParams>(
  path: Path,
  operationId: string,
  summary: string,
  item: T,
  params: P,
) =>
  createRoute({
    method: "get",
    path: `/orgs/{slug}/data-sources/{id}${path}` as `/orgs/{slug}/data-sources/{id}${Path}`,
    operationId,
    tags,
    summary,
    ...authed,
    request: { params, query: PageQuery },
    responses: {
      200: { description: "A page, by name", content: { "application/json": { schema: pageSchema(item) } } },
      ...problemResponses(...outbound),
    },
  });

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

export const tables = catalogRoute(
  "/schemas/{schema}/tables",
  "listDataSourceTables",
  "Tables (and views, foreign tables) of a schema: columns, primary and foreign keys, indexes, row estimates, RLS",
  Table,
  SchemaParams,
);
export const views = catalogRoute(
  "/schemas/{schema}/views",
  "listDataSourceViews",
  "Views and materialized views of a schema, with their definitions",
  View,
  SchemaParams,
);
export const functions = catalogRoute(
  "/schemas/{schema}/functions",
  "listDataSourceFunctions",
  "Functions, procedures and aggregates of a schema",
  PgFunction,
  SchemaParams,
);
export const types = catalogRoute(
  "/schemas/{schema}/types",
  "listDataSourceTypes",
  "Enum, composite and domain types of a schema",
  PgType,
  SchemaParams,
);
export const policies = catalogRoute(
  "/schemas/{schema}/policies",
  "listDataSourcePolicies",
  "Row-level security policies on a schema's tables",
  Policy,
  SchemaParams,
);
export const triggers = catalogRoute(
  "/schemas/{schema}/triggers",
  "listDataSourceTriggers",
  "Triggers on a schema's tables (internal ones left out)",
  Trigger,
  SchemaParams,
);
export const foreignTables = catalogRoute(
  "/schemas/{schema}/foreign-tables",
  "listDataSourceForeignTables",
  "Foreign tables of a schema, with their server and options",
  ForeignTable,
  SchemaParams,
);
export const extensions = catalogRoute(
  "/extensions",
  "listDataSourceExtensions",
  "Extensions installed in the database",
  Extension,
  SourceParams,
);
export const publications = catalogRoute(
  "/publications",
  "listDataSourcePublications",
  "Logical-replication publications of the database, with their tables",
  Publication,
  SourceParams,
);

export const typescript = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/types/typescript",
  operationId: "getDataSourceTypescript",
  tags,
  summary: "TypeScript types for a schema: tables (Row, Insert, Update), views, enums and composite types",
  description:
    "A `Database` interface in the shape Supabase's generator uses; nullable columns are `| null`, numeric and bigint are `number`. A schema that does not exist is 404.",
  ...authed,
  request: { params: SourceParams, query: z.object({ schema: Identifier.default("public") }) },
  responses: {
    200: { description: "A TypeScript module", content: { "text/plain": { schema: z.string() } } },
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
    plan: z.array(z.unknown()).optional().openapi({
      description: "With `explain`: EXPLAIN (FORMAT JSON) as Postgres gives it (`[{ Plan: {…} }]`), also the one cell of `rows`",
    }),
  })
  .openapi("PostgresQueryResult");

export const query = createRoute({
  method: "post",
  path: "/orgs/{slug}/data-sources/{id}/query",
  operationId: "queryDataSource",
  tags,
  summary: "Run a read-only query and read one page of its rows (members and above)",
  description:
    "The statement runs in a read-only transaction with a statement timeout; anything that writes is 422 `QUERY_NOT_READ_ONLY`. Reading statements page through a server-side cursor (`offset`, `limit` ≤ 1,000), and a page is cut to DATA_SOURCE_MAX_RESULT_BYTES. `params` bind `$1…$n`; `explain` answers the plan instead of rows. Each call is recorded in your query history (GET …/history).",
  ...authed,
  request: {
    params: SourceParams,
    body: jsonBody(
      z
        .object({
          sql: Sql,
          params: z
            .array(z.union([Text.max(100_000), z.number(), z.boolean(), z.null()]))
            .max(100)
            .default([])
            .openapi({ description: "Bind parameters for $1, $2…, sent apart from the text (never spliced into it)", example: [100] }),
          explain: z
            .union([z.boolean(), z.object({ verbose: z.boolean().optional(), analyze: z.boolean().optional() }).strict()])
            .default(false)
            .openapi({
              description:
                "Answer the plan (EXPLAIN (FORMAT JSON)) instead of rows; the query is not run. `analyze: true` is refused (422 QUERY_NOT_ALLOWED), as is EXPLAIN ANALYZE in `sql`.",
            }),
          offset: z.number().int().min(0).max(10_000_000).default(0),
          limit: z.number().int().min(1).max(1_000).default(100),
        })
        .strict(),
    ),
  },
  responses: {
    200: {
      description: "One page, or the plan with `explain`",
      content: { "application/json": { schema: QueryResult } },
    },
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
    body: jsonBody(
      z
        .object({
          sql: Sql,
          params: z
            .array(z.union([Text.max(100_000), z.number(), z.boolean(), z.null()]))
            .max(100)
            .default([]),
          projectId: z.uuid(),
          name: Text.trim().min(1).max(200),
        })
        .strict(),
    ),
  },
  responses: {
    201: { description: "A new dataset version", content: { "application/json": { schema: Dataset } } },
    200: { description: "The same rows are already a dataset of the project", content: { "application/json": { schema: Dataset } } },
    ...problemResponses(...outbound, 413, 415),
  },
});

export const HistoryEntry = z
  .object({
    id: z.uuid(),
    sql: z.string(),
    params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])),
    explain: z.boolean(),
    status: z.enum(sourceQueryStatuses),
    errorCode: z.string().nullable().openapi({ description: "The problem's `code` when it failed" }),
    durationMs: z.number().int(),
    rowCount: z.number().int().nullable().openapi({ description: "Rows answered on that page; null for a plan or a failure" }),
    createdAt: Timestamp,
  })
  .openapi("PostgresQueryHistoryEntry");

export const history = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/history",
  operationId: "listDataSourceQueryHistory",
  tags,
  summary: "Your own queries on this source, newest first: text, parameters, duration, rows, status",
  description: "Written just after each answer, so a query shows here a moment after it returns.",
  ...authed,
  request: { params: SourceParams, query: PageQuery.extend({ status: z.enum(sourceQueryStatuses).optional() }) },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(HistoryEntry) } } },
    ...problemResponses(400, 401, 403, 404, 422),
  },
});
