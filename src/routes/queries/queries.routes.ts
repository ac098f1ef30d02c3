// Route definition for queries: one read-only SQL statement over a dataset version's store.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { ChartSpec } from "../../services/query/spec.ts";
import { IdParam } from "../schemas.ts";

const Param = z.union([z.string().max(10_000), z.number(), z.null()]);

export const QueryBody = z
  .object({
    sql: z.string().min(1).max(100_000).optional().openapi({
      description: "One SELECT, WITH … SELECT or VALUES statement in SQLite's dialect over the table `dataset`",
      example: 'SELECT "region", avg("amount") AS mean FROM dataset GROUP BY 1 ORDER BY 2 DESC',
    }),
    params: z.array(Param).max(100).optional().openapi({ description: "With `sql`: values for its `?` placeholders, in order" }),
    spec: ChartSpec.optional().openapi({ description: "A chart's data, compiled to one statement (returned as `sql`)" }),
  })
  .strict()
  .superRefine((body, ctx) => {
    if ((body.sql === undefined) === (body.spec === undefined))
      ctx.addIssue({ code: "custom", path: ["sql"], message: "send exactly one of sql and spec" });
    if (body.spec !== undefined && body.params !== undefined)
      ctx.addIssue({ code: "custom", path: ["params"], message: "params go with sql; a spec binds its own" });
  })
  .openapi("QueryRequest");

export const QueryResult = z
  .object({
    columns: z.array(
      z.object({
        name: z.string(),
        type: z.enum(["integer", "number", "boolean", "datetime", "string", "blob", "null", "mixed"]).openapi({
          description:
            "A dataset column's profile type when the result column has its name and its kind of values, else the kind of its values: number, string, blob (base64), null, or mixed",
        }),
      }),
    ),
    rows: z.array(z.array(z.unknown())),
    rowCount: z.number().int(),
    truncated: z.boolean().openapi({ description: "True when the result had more than QUERY_MAX_ROWS rows and was cut" }),
    sql: z.string().openapi({ description: "The statement that ran" }),
    dataset: z.object({ id: z.uuid(), version: z.number().int(), sha256: z.string() }),
    elapsedMs: z.number().int(),
    cached: z.boolean().openapi({ description: "True when the answer came from the result cache (same dataset bytes, same query)" }),
  })
  .openapi("QueryResult");

export const query = createRoute({
  method: "post",
  path: "/datasets/{id}/query",
  operationId: "queryDataset",
  tags: ["Queries"],
  summary: "Run one read-only SQL statement, or a chart spec, over every row of a dataset version",
  description:
    "Send `{ sql, params? }` or `{ spec }` (a ChartSpec, compiled to one parameterised statement that is returned as `sql`; a spec naming a column the dataset lacks is 422 `QUERY_INVALID` with the path at fault in `errors`). SQL is SQLite's dialect over one table, `dataset`, whose columns are named as in the profile (quote them: `\"unit price\"`). Exactly one SELECT, WITH … SELECT or VALUES statement; it runs in a transaction that is always rolled back. Only `dataset` is visible (not `sqlite_master`, the store's own tables, PRAGMA functions or ATTACH). Statements whose cost grows with the square of the rows (a join of `dataset` with itself, two full scans in one join, a correlated subquery that scans, a recursive CTE) are refused: use window functions or a join on an aggregated subquery. Limits: QUERY_MAX_ROWS (more rows are cut, `truncated: true`), QUERY_MAX_BYTES (413 `QUERY_RESULT_TOO_LARGE`), QUERY_TIMEOUT_MS (504 `QUERY_TIMEOUT`). A store still loading, or a dataset a resumable upload is still bringing, is 409 `DATASET_NOT_READY` with `Retry-After` (`UPLOAD_FAILED` when that upload failed). Results are cached per dataset bytes and normal form of the query (`cached: true`).",
  ...authed,
  request: { params: IdParam, body: jsonBody(QueryBody) },
  responses: {
    200: { description: "The result", content: { "application/json": { schema: QueryResult } } },
    ...problemResponses(400, 401, 403, 404, 409, 413, 422, 504),
  },
});
