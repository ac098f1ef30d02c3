// Route definitions for scheduled refreshes: a data source's import saved with a schedule (hourly, daily, weekly), run by the cron.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { refreshSchedules, refreshStatuses } from "../../db/schema.ts";
import { SourceParams } from "../data-sources/data-sources.routes.ts";
import { Text, Timestamp } from "../schemas.ts";

const tags = ["Data sources: scheduled refresh"];
const RefreshParams = SourceParams.extend({ refreshId: z.uuid() });

const PostgresImport = z
  .object({ kind: z.literal("postgres"), sql: Text.trim().min(1).max(100_000).openapi({ example: "SELECT * FROM orders" }) })
  .strict();
const RedisImport = z
  .object({
    kind: z.literal("redis"),
    keys: z.array(Text.min(1).max(1_024)).min(1).max(10_000).optional(),
    match: z.string().min(1).max(512).optional(),
    maxKeys: z.number().int().min(1).max(10_000).default(1_000),
  })
  .strict()
  .refine((body) => (body.keys === undefined) !== (body.match === undefined), { message: "send either keys or match", path: ["keys"] });

export const RefreshImport = z
  .discriminatedUnion("kind", [PostgresImport, RedisImport])
  .openapi("RefreshImport", { description: "What each run reads: as POST …/import (postgres) or …/import-keys (redis) takes it" });

export const Refresh = z
  .object({
    id: z.uuid(),
    dataSourceId: z.uuid(),
    projectId: z.uuid(),
    name: z.string().openapi({ description: "The dataset each run makes a new version of" }),
    schedule: z.enum(refreshSchedules),
    import: RefreshImport,
    rerunAnalysisOf: z.uuid().nullable().openapi({ description: "A session whose analysis is re-run on each new version" }),
    nextRunAt: Timestamp,
    running: z.boolean().openapi({ description: "A cron run holds it now" }),
    lastRunAt: Timestamp.nullable(),
    lastStatus: z.enum(refreshStatuses).nullable(),
    lastError: z.string().nullable(),
    lastDatasetId: z.uuid().nullable(),
    lastAnalysisId: z.uuid().nullable(),
    runs: z.number().int(),
    createdBy: z.uuid().nullable(),
    createdAt: Timestamp,
  })
  .openapi("Refresh");

export const create = createRoute({
  method: "post",
  path: "/orgs/{slug}/data-sources/{id}/refreshes",
  operationId: "createRefresh",
  tags,
  summary: "Save an import with a schedule (members and above)",
  description:
    "Each run (the cron, when `nextRunAt` has passed; the first one a period after creation unless `firstRunAt` says otherwise) reads the source as the import says and saves the rows as the next version of `name` in the project (type overrides of the name carried forward). With `rerunAnalysisOf`, a session of that project follows the new version and gets a queued analysis (its latest question, the statistical engine). A run whose rows are the newest version's again makes no version. Failures are recorded in `lastStatus` and `lastError`; the schedule carries on.",
  ...authed,
  request: {
    params: SourceParams,
    body: jsonBody(
      z
        .object({
          projectId: z.uuid(),
          name: Text.trim().min(1).max(200),
          schedule: z.enum(refreshSchedules),
          import: RefreshImport,
          rerunAnalysisOf: z.uuid().optional(),
          firstRunAt: Timestamp.optional().openapi({ description: "When the first run is due (default: one period from now)" }),
        })
        .strict(),
    ),
  },
  responses: {
    201: {
      description: "Saved",
      headers: z.object({ Location: z.string() }),
      content: { "application/json": { schema: Refresh } },
    },
    ...problemResponses(400, 401, 403, 404, 415, 422),
  },
});

export const list = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/refreshes",
  operationId: "listRefreshes",
  tags,
  summary: "The data source's scheduled refreshes, newest first",
  ...authed,
  request: { params: SourceParams, query: PageQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(Refresh) } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const get = createRoute({
  method: "get",
  path: "/orgs/{slug}/data-sources/{id}/refreshes/{refreshId}",
  operationId: "getRefresh",
  tags,
  summary: "One scheduled refresh, with its last run",
  ...authed,
  request: { params: RefreshParams },
  responses: {
    200: { description: "The refresh", content: { "application/json": { schema: Refresh } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/orgs/{slug}/data-sources/{id}/refreshes/{refreshId}",
  operationId: "deleteRefresh",
  tags,
  summary: "Stop and delete a scheduled refresh (members and above; the datasets it made stay)",
  ...authed,
  request: { params: RefreshParams },
  responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 404) },
});
