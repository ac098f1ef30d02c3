// Route definitions for analysis sessions: list, create, get, update, delete (soft), restore.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { IdParam, ifMatchOf, Slug, Text, Timestamp, etagResponse } from "../schemas.ts";

const Title = Text.trim().min(1).max(200);

export const Session = z
  .object({
    id: z.uuid(),
    projectId: z.uuid(),
    datasetId: z.uuid(),
    title: Title,
    createdBy: z.uuid().nullable(),
    updatedBy: z.uuid().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deletedAt: Timestamp.nullable(),
  })
  .openapi("Session");

const one = (description: string) => etagResponse(description, Session);
const ifMatch = ifMatchOf("session");

export const list = createRoute({
  method: "get",
  path: "/sessions",
  operationId: "listSessions",
  tags: ["Sessions"],
  summary: "Analysis sessions in your organizations, newest first",
  ...authed,
  request: {
    query: PageQuery.extend({
      org: Slug.optional().openapi({ description: "Only this organization's sessions" }),
      projectId: z.uuid().optional().openapi({ description: "Only this project's sessions" }),
      datasetId: z.uuid().optional().openapi({ description: "Only sessions on this dataset" }),
    }),
  },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(Session) } } },
    ...problemResponses(400, 401),
  },
});

export const create = createRoute({
  method: "post",
  path: "/sessions",
  operationId: "createSession",
  tags: ["Sessions"],
  summary: "Open an analysis session on a dataset",
  ...authed,
  request: {
    body: jsonBody(
      z.object({ datasetId: z.uuid(), title: Title.optional().openapi({ description: "Defaults to the dataset's name" }) }).strict(),
    ),
  },
  responses: { 201: one("Created"), ...problemResponses(400, 401, 403, 404, 409, 415, 422) },
});

export const get = createRoute({
  method: "get",
  path: "/sessions/{id}",
  operationId: "getSession",
  tags: ["Sessions"],
  summary: "One session",
  ...authed,
  request: { params: IdParam },
  responses: { 200: one("The session"), 304: { description: "Not modified (If-None-Match)" }, ...problemResponses(400, 401, 404) },
});

export const update = createRoute({
  method: "patch",
  path: "/sessions/{id}",
  operationId: "updateSession",
  tags: ["Sessions"],
  summary: "Rename a session",
  ...authed,
  request: { params: IdParam, headers: ifMatch, body: jsonBody(z.object({ title: Title }).partial().strict()) },
  responses: { 200: one("Updated"), ...problemResponses(400, 401, 403, 404, 412, 415) },
});

export const remove = createRoute({
  method: "delete",
  path: "/sessions/{id}",
  operationId: "deleteSession",
  tags: ["Sessions"],
  summary: "Delete a session (soft; restorable for RETENTION_DAYS)",
  ...authed,
  request: { params: IdParam, headers: ifMatch },
  responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 404, 412) },
});

export const restore = createRoute({
  method: "post",
  path: "/sessions/{id}/restore",
  operationId: "restoreSession",
  tags: ["Sessions"],
  summary: "Restore a deleted session within the retention window",
  ...authed,
  request: { params: IdParam },
  responses: { 200: one("Restored"), ...problemResponses(400, 401, 403, 404, 410) },
});
