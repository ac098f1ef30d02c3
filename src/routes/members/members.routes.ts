// Route definitions for an organization's members and invitations.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { Email, Role, Slug, SlugParam, Timestamp } from "../schemas.ts";

export const Member = z
  .object({ userId: z.uuid(), email: z.string(), name: z.string().nullable(), role: Role, joinedAt: Timestamp })
  .openapi("Member");

export const Invitation = z
  .object({
    id: z.uuid(),
    email: z.string(),
    role: Role,
    status: z.enum(["pending", "expired"]).openapi({ description: "Expired ones can be resent (a new link, a new expiry)" }),
    invitedBy: z.uuid().nullable(),
    createdAt: Timestamp,
    expiresAt: Timestamp,
  })
  .openapi("Invitation", { description: "A single-use link emailed to the address; a verified account with that address accepts it" });

const MemberParams = z.object({ slug: Slug, userId: z.uuid() });
const InvitationParams = z.object({ slug: Slug, id: z.uuid() });

export const list = createRoute({
  method: "get",
  path: "/orgs/{slug}/members",
  operationId: "listMembers",
  tags: ["Members"],
  summary: "Members of an organization, newest first",
  ...authed,
  request: { params: SlugParam, query: PageQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(Member) } } },
    ...problemResponses(400, 401, 404),
  },
});

export const listInvitations = createRoute({
  method: "get",
  path: "/orgs/{slug}/invitations",
  operationId: "listInvitations",
  tags: ["Members"],
  summary: "Pending invitations, newest first (admins and owners)",
  description: "Invitations not yet accepted or revoked, expired ones included (`status`).",
  ...authed,
  request: { params: SlugParam, query: PageQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(Invitation) } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const invite = createRoute({
  method: "post",
  path: "/orgs/{slug}/members",
  operationId: "inviteMember",
  tags: ["Members"],
  summary: "Invite someone by email (admins and owners; only owners grant owner)",
  description:
    "Always 202 with the invitation, the same whether or not the address has an account or is a member already: nobody joins " +
    "without consent. The link goes to the address; a verified account with it accepts (`POST /invitations/{token}/accept`). " +
    "Inviting an address with a pending invitation replaces its role, link and expiry.",
  ...authed,
  request: { params: SlugParam, body: jsonBody(z.object({ email: Email, role: Role.default("member") }).strict()) },
  responses: {
    202: { description: "Invited (the link is on its way)", content: { "application/json": { schema: Invitation } } },
    ...problemResponses(400, 401, 403, 404, 415),
  },
});

export const resendInvitation = createRoute({
  method: "post",
  path: "/orgs/{slug}/invitations/{id}/resend",
  operationId: "resendInvitation",
  tags: ["Members"],
  summary: "Send a pending invitation again: a new link (the old one stops working) and a new expiry",
  ...authed,
  request: { params: InvitationParams },
  responses: {
    202: { description: "Sent again", content: { "application/json": { schema: Invitation } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const revokeInvitation = createRoute({
  method: "delete",
  path: "/orgs/{slug}/invitations/{id}",
  operationId: "revokeInvitation",
  tags: ["Members"],
  summary: "Revoke a pending invitation (its link stops working)",
  ...authed,
  request: { params: InvitationParams },
  responses: { 204: { description: "Revoked" }, ...problemResponses(400, 401, 403, 404) },
});

export const update = createRoute({
  method: "patch",
  path: "/orgs/{slug}/members/{userId}",
  operationId: "changeMemberRole",
  tags: ["Members"],
  summary: "Change a member's role (admins and owners; owner roles only by owners; never the last owner)",
  ...authed,
  request: { params: MemberParams, body: jsonBody(z.object({ role: Role }).strict()) },
  responses: {
    200: { description: "Updated", content: { "application/json": { schema: Member } } },
    ...problemResponses(400, 401, 403, 404, 409, 415),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/orgs/{slug}/members/{userId}",
  operationId: "removeMember",
  tags: ["Members"],
  summary: "Remove a member, or leave (your own user id); never the last owner",
  ...authed,
  request: { params: MemberParams },
  responses: { 204: { description: "Removed" }, ...problemResponses(400, 401, 403, 404, 409) },
});
