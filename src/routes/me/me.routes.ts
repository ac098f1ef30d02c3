// Route definitions for the caller's own account.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { User } from "../auth/auth.routes.ts";
import { Role, Slug, Text } from "../schemas.ts";

export const Me = User.extend({
  organizations: z.array(z.object({ id: z.uuid(), slug: Slug, name: z.string(), personal: z.boolean(), role: Role })),
}).openapi("Me");

export const getMe = createRoute({
  method: "get",
  path: "/me",
  operationId: "getMe",
  tags: ["Me"],
  summary: "Your account and organizations",
  ...authed,
  responses: { 200: { description: "You", content: { "application/json": { schema: Me } } }, ...problemResponses(401, 403) },
});

export const updateMe = createRoute({
  method: "patch",
  path: "/me",
  operationId: "updateMe",
  tags: ["Me"],
  summary: "Change your name",
  ...authed,
  request: { body: jsonBody(z.object({ name: Text.trim().min(1).max(100).nullable() }).strict()) },
  responses: {
    200: { description: "Updated", content: { "application/json": { schema: User } } },
    ...problemResponses(400, 401, 403, 415),
  },
});

export const deleteMe = createRoute({
  method: "delete",
  path: "/me",
  operationId: "deleteMe",
  tags: ["Me"],
  summary: "Delete your account",
  description:
    "Soft-deletes the account and, at once, ends every session and revokes every API key you created. Organizations you alone belong to are deleted with it; one where you are the last owner among other members must get another owner first (409 `LAST_OWNER`).",
  ...authed,
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 409) },
});
