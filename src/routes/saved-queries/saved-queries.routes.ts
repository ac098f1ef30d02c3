// Route definitions for saved queries of a data source: list, save, get, change, delete (shared in the organization).
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { SourceParams } from "../data-sources/data-sources.routes.ts";
import { etagResponse, ifMatchOf, Text, Timestamp } from "../schemas.ts";

const tags = ["Data sources: saved queries"];
const Param = z.union([Text.max(100_000), z.number(), z.boolean(), z.null()]);

const fields = {
  name: Text.trim().min(1).max(200).openapi({ example: "Big orders this month" }),
  description: Text.max(2_000).nullable(),
  sql: Text.trim()
    .min(1)
    .max(100_000)
    .openapi({ description: "One reading statement, checked as POST …/query checks it", example: "SELECT * FROM orders WHERE total > $1" }),
  params: z
    .array(Param)
    .max(100)
    .openapi({ description: "Bind parameters for $1, $2…", example: [100] }),
};

export const SavedQuery = z
  .object({
    id: z.uuid(),
    sourceId: z.uuid(),
    ...fields,
    createdBy: z.uuid().nullable(),
    updatedBy: z.uuid().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("SavedQuery");

const Params = SourceParams.extend({ queryId: z.uuid() });
const one = (description: string) => etagResponse(description, SavedQuery);
const ifMatch = ifMatchOf("saved query");
const base = "/orgs/{slug}/data-sources/{id}/saved-queries";

export const list = createRoute({
  method: "get",
  path: base,
  operationId: "listSavedQueries",
  tags,
  summary: "The organization's saved queries on this source, newest first",
  ...authed,
  request: { params: SourceParams, query: PageQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(SavedQuery) } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const create = createRoute({
  method: "post",
  path: base,
  operationId: "createSavedQuery",
  tags,
  summary: "Save a query under a name (members and above); a name is unique per source",
  ...authed,
  request: {
    params: SourceParams,
    body: jsonBody(
      z
        .object({ name: fields.name, description: fields.description.optional(), sql: fields.sql, params: fields.params.default([]) })
        .strict(),
    ),
  },
  responses: {
    201: {
      ...one("Saved"),
      headers: z.object({ ETag: z.string(), Location: z.string().openapi({ description: "The saved query's URL" }) }),
    },
    ...problemResponses(400, 401, 403, 404, 409, 415, 422),
  },
});

export const get = createRoute({
  method: "get",
  path: `${base}/{queryId}`,
  operationId: "getSavedQuery",
  tags,
  summary: "One saved query (If-None-Match answers 304)",
  ...authed,
  request: { params: Params },
  responses: { 200: one("The saved query"), 304: { description: "Not modified" }, ...problemResponses(400, 401, 403, 404) },
});

export const update = createRoute({
  method: "patch",
  path: `${base}/{queryId}`,
  operationId: "updateSavedQuery",
  tags,
  summary: "Change a saved query (its creator, or an admin; If-Match makes it conditional)",
  ...authed,
  request: { params: Params, headers: ifMatch, body: jsonBody(z.object(fields).partial().strict()) },
  responses: { 200: one("Updated"), ...problemResponses(400, 401, 403, 404, 409, 412, 415, 422) },
});

export const remove = createRoute({
  method: "delete",
  path: `${base}/{queryId}`,
  operationId: "deleteSavedQuery",
  tags,
  summary: "Delete a saved query (its creator, or an admin)",
  ...authed,
  request: { params: Params, headers: ifMatch },
  responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 404, 412) },
});
