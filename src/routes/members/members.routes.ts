// Route definitions for an organization's members and invitations.
import { createRoute, z } from "@hono/zod-openapi";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { bearerSecurity, Email, Role, Slug, Timestamp } from "../schemas.ts";

export const Member = z
  .object({ userId: z.uuid(), email: z.string(), name: z.string().nullable(), role: Role, joinedAt: Timestamp })
  .openapi("Member");

export const Invitation = z
  .object({ id: z.uuid(), email: z.string(), role: Role, createdAt: Timestamp })
  .openapi("Invitation", { description: "Waiting for the address to sign up; it then joins with this role" });

const MemberParams = z.object({ slug: Slug, userId: z.uuid() });

export const list = createRoute({
  method: "get",
  path: "/orgs/{slug}/members",
  operationId: "listMembers",
  tags: ["Members"],
  summary: "Members of an organization, newest first",
  security: bearerSecurity,
  request: { params: z.object({ slug: Slug }), query: PageQuery },
  responses: { 200: { description: "A page", content: { "application/json": { schema: pageSchema(Member) } } }, ...problemResponses(400, 401, 404) },
});

export const listInvitations = createRoute({
  method: "get",
  path: "/orgs/{slug}/invitations",
  operationId: "listInvitations",
  tags: ["Members"],
  summary: "Invitations waiting for their address to sign up (admins and owners)",
  security: bearerSecurity,
  request: { params: z.object({ slug: Slug }), query: PageQuery },
  responses: { 200: { description: "A page", content: { "application/json": { schema: pageSchema(Invitation) } } }, ...problemResponses(400, 401, 403, 404) },
});

export const invite = createRoute({
  method: "post",
  path: "/orgs/{slug}/members",
  operationId: "inviteMember",
  tags: ["Members"],
  summary: "Invite someone by email (admins and owners; only owners grant owner)",
  description: "An address with an account joins at once (201, the member); otherwise an invitation waits for it to sign up (202).",
  security: bearerSecurity,
  request: { params: z.object({ slug: Slug }), body: jsonBody(z.object({ email: Email, role: Role.default("member") }).strict()) },
  responses: {
    201: { description: "Joined", content: { "application/json": { schema: Member } } },
    202: { description: "Invited", content: { "application/json": { schema: Invitation } } },
    ...problemResponses(400, 401, 403, 404, 409, 415),
  },
});

export const update = createRoute({
  method: "patch",
  path: "/orgs/{slug}/members/{userId}",
  operationId: "changeMemberRole",
  tags: ["Members"],
  summary: "Change a member's role (admins and owners; owner roles only by owners; never the last owner)",
  security: bearerSecurity,
  request: { params: MemberParams, body: jsonBody(z.object({ role: Role }).strict()) },
  responses: { 200: { description: "Updated", content: { "application/json": { schema: Member } } }, ...problemResponses(400, 401, 403, 404, 409, 415) },
});

export const remove = createRoute({
  method: "delete",
  path: "/orgs/{slug}/members/{userId}",
  operationId: "removeMember",
  tags: ["Members"],
  summary: "Remove a member, or leave (your own user id); never the last owner",
  security: bearerSecurity,
  request: { params: MemberParams },
  responses: { 204: { description: "Removed" }, ...problemResponses(400, 401, 403, 404, 409) },
});
