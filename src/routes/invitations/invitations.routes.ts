// Route definition for accepting an invitation with the token from its emailed link.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { problemResponses } from "../../lib/openapi.ts";
import { Role, Slug, Timestamp } from "../schemas.ts";

export const Membership = z
  .object({
    organization: z.object({ id: z.uuid(), slug: Slug, name: z.string() }),
    role: Role,
    joinedAt: Timestamp,
  })
  .openapi("Membership");

export const accept = createRoute({
  method: "post",
  path: "/invitations/{token}/accept",
  operationId: "acceptInvitation",
  tags: ["Members"],
  summary: "Accept an invitation (a verified account with the invited address)",
  description:
    "The token is the one in the emailed link (after `#token=`); it works once. 403 `EMAIL_NOT_VERIFIED` until your address is " +
    "verified, 403 `INVITATION_EMAIL_MISMATCH` for another address; 410 `INVITATION_EXPIRED` / `INVITATION_REVOKED`, 409 `INVITATION_USED`, " +
    "409 `ALREADY_MEMBER`.",
  ...authed,
  request: { params: z.object({ token: z.string().min(1).max(200).openapi({ description: "The invitation's token" }) }) },
  responses: {
    200: { description: "Joined", content: { "application/json": { schema: Membership } } },
    ...problemResponses(400, 401, 403, 404, 409, 410),
  },
});
