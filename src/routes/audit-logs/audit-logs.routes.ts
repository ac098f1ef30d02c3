// Route definition for an organization's audit log.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { SlugParam, Text, Timestamp } from "../schemas.ts";

export const AuditLog = z
  .object({
    id: z.uuid(),
    at: Timestamp,
    requestId: z.string(),
    actorType: z.enum(["user", "api_key", "anonymous"]),
    actorId: z.uuid().nullable(),
    apiKeyId: z.uuid().nullable(),
    action: z.string().openapi({ description: "The operation's id, e.g. `createApiKey`", example: "createApiKey" }),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    method: z.string(),
    route: z.string().nullable().openapi({ example: "/api/v1/orgs/:slug/api-keys" }),
    status: z.number().int(),
    durationMs: z.number().int(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    errorCode: z.string().nullable(),
  })
  .openapi("AuditLog");

export const list = createRoute({
  method: "get",
  path: "/orgs/{slug}/audit-logs",
  operationId: "listAuditLogs",
  tags: ["Audit log"],
  summary: "What was done in an organization, newest first (admins and owners)",
  ...authed,
  request: {
    params: SlugParam,
    query: PageQuery.extend({
      actor: z.uuid().optional().openapi({ description: "Only this user's actions (their API keys' included)" }),
      action: Text.min(1).max(100).optional().openapi({ description: "Only this action", example: "createApiKey" }),
      from: z.iso.datetime().optional().openapi({ description: "At or after this instant" }),
      to: z.iso.datetime().optional().openapi({ description: "Before this instant" }),
    }),
  },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(AuditLog) } } },
    ...problemResponses(400, 401, 403, 404),
  },
});
