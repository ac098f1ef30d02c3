// Route definitions for an organization's API keys.
import { createRoute, z } from "@hono/zod-openapi";
import { apiKeyScopes } from "../../db/schema.ts";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { Slug, SlugParam, Text, Timestamp } from "../schemas.ts";

export const ApiKey = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().openapi({ description: "The key's first characters, to tell keys apart", example: "dck_Ab3dE9xQ" }),
    scopes: z.array(z.enum(apiKeyScopes)),
    createdBy: z.uuid(),
    createdAt: Timestamp,
    lastUsedAt: Timestamp.nullable(),
    expiresAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
  })
  .openapi("ApiKey");

export const CreatedApiKey = ApiKey.extend({
  key: z.string().openapi({ description: "The secret: shown this once, never again. Send it as `Authorization: Bearer <key>`." }),
}).openapi("CreatedApiKey");

export const list = createRoute({
  method: "get",
  path: "/orgs/{slug}/api-keys",
  operationId: "listApiKeys",
  tags: ["API keys"],
  summary: "An organization's API keys, newest first (admins and owners)",
  ...authed,
  request: { params: SlugParam, query: PageQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(ApiKey) } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const create = createRoute({
  method: "post",
  path: "/orgs/{slug}/api-keys",
  operationId: "createApiKey",
  tags: ["API keys"],
  summary: "Create an API key (admins and owners); its secret is in this response only",
  ...authed,
  request: {
    params: SlugParam,
    body: jsonBody(
      z
        .object({
          name: Text.trim().min(1).max(100),
          scopes: z.array(z.enum(apiKeyScopes)).min(1).default(["read"]).openapi({ description: "`read` only, or `read` and `write`" }),
          expiresInDays: z.number().int().min(1).max(3650).optional().openapi({ description: "Never expires when omitted" }),
        })
        .strict(),
    ),
  },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: CreatedApiKey } } },
    ...problemResponses(400, 401, 403, 404, 415),
  },
});

export const revoke = createRoute({
  method: "delete",
  path: "/orgs/{slug}/api-keys/{id}",
  operationId: "revokeApiKey",
  tags: ["API keys"],
  summary: "Revoke an API key at once (admins and owners)",
  ...authed,
  request: { params: z.object({ slug: Slug, id: z.uuid() }) },
  responses: { 204: { description: "Revoked" }, ...problemResponses(400, 401, 403, 404) },
});
