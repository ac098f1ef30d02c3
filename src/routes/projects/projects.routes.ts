// Route definitions for projects: list, create, get, update, delete (soft), restore.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { holdsNul, IdParam, ifMatchOf, Slug, Text, Timestamp, etagResponse } from "../schemas.ts";

const Settings = z
  .record(z.string().max(100), z.unknown())
  .refine((value) => !holdsNul(value), "must not contain the NUL character (U+0000)")
  .refine((value) => JSON.stringify(value).length <= 16_384, "at most 16 KB of JSON")
  .openapi({ description: "Free-form JSON settings (at most 16 KB)", example: { defaultChart: "bar" } });

const fields = {
  name: Text.trim().min(1).max(200),
  description: Text.max(2_000).nullable(),
  color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, "a colour as #RRGGBB")
    .nullable()
    .openapi({ example: "#3b82f6" }),
  icon: Text.min(1).max(64).nullable().openapi({ example: "chart-bar" }),
  settings: Settings,
};

export const Project = z
  .object({
    id: z.uuid(),
    org: Slug,
    ...fields,
    createdBy: z.uuid().nullable(),
    updatedBy: z.uuid().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deletedAt: Timestamp.nullable(),
  })
  .openapi("Project");

const one = (description: string) => etagResponse(description, Project);
const ifMatch = ifMatchOf("project");

export const list = createRoute({
  method: "get",
  path: "/projects",
  operationId: "listProjects",
  tags: ["Projects"],
  summary: "Projects in your organizations, newest first",
  ...authed,
  request: {
    query: PageQuery.extend({
      org: Slug.optional().openapi({ description: "Only this organization's projects" }),
      q: Text.trim().min(1).max(200).optional().openapi({ description: "Only projects whose name contains this (case-insensitive)" }),
    }),
  },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(Project) } } },
    ...problemResponses(400, 401, 404),
  },
});

export const create = createRoute({
  method: "post",
  path: "/projects",
  operationId: "createProject",
  tags: ["Projects"],
  summary: "Create a project (members and above)",
  ...authed,
  request: {
    body: jsonBody(
      z
        .object({
          org: Slug.optional().openapi({ description: "The organization; by default your personal one (or the API key's)" }),
          name: fields.name,
          description: fields.description.optional(),
          color: fields.color.optional(),
          icon: fields.icon.optional(),
          settings: Settings.optional(),
        })
        .strict(),
    ),
  },
  responses: { 201: one("Created"), ...problemResponses(400, 401, 403, 404, 409, 415, 422) },
});

export const get = createRoute({
  method: "get",
  path: "/projects/{id}",
  operationId: "getProject",
  tags: ["Projects"],
  summary: "One project (If-None-Match answers 304)",
  ...authed,
  request: { params: IdParam },
  responses: { 200: one("The project"), 304: { description: "Not modified" }, ...problemResponses(400, 401, 404) },
});

export const update = createRoute({
  method: "patch",
  path: "/projects/{id}",
  operationId: "updateProject",
  tags: ["Projects"],
  summary: "Change a project (members and above; If-Match makes it conditional)",
  ...authed,
  request: {
    params: IdParam,
    headers: ifMatch,
    body: jsonBody(
      z
        .object({ name: fields.name, description: fields.description, color: fields.color, icon: fields.icon, settings: Settings })
        .partial()
        .strict(),
    ),
  },
  responses: { 200: one("Updated"), ...problemResponses(400, 401, 403, 404, 412, 415) },
});

export const remove = createRoute({
  method: "delete",
  path: "/projects/{id}",
  operationId: "deleteProject",
  tags: ["Projects"],
  summary: "Delete a project (admins and owners; restorable for RETENTION_DAYS)",
  ...authed,
  request: { params: IdParam, headers: ifMatch },
  responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 404, 412) },
});

export const restore = createRoute({
  method: "post",
  path: "/projects/{id}/restore",
  operationId: "restoreProject",
  tags: ["Projects"],
  summary: "Bring back a deleted project within the retention window (admins and owners)",
  ...authed,
  request: { params: IdParam },
  responses: { 200: one("Restored"), ...problemResponses(400, 401, 403, 404, 410) },
});
