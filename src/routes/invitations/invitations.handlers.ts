// Accepting an invitation: the token from the link, held by a verified account with the invited address; it works once.
import { and, eq, isNull, sql } from "drizzle-orm";
import { orgInvitations, orgMembers, organizations, type Role, users } from "../../db/schema.ts";
import { sha256Hex } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/problem.ts";
import { guarded } from "../../lib/session-guard.ts";
import { emailNotVerified } from "../../lib/verified.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { userOf } from "../../lib/principal.ts";
import { invitationState } from "../../services/invitations.ts";
import { emitEvent } from "../../services/webhooks/events.ts";
import type * as routes from "./invitations.routes.ts";

export const accept: AppRouteHandler<typeof routes.accept> = async (c) => {
  const { token } = c.req.valid("param");
  const { userId } = userOf(c);
  const hash = await sha256Hex(token);
  const [[caller], [found]] = await guarded(c, (db) => [
    db.select({ email: users.email, emailVerifiedAt: users.emailVerifiedAt }).from(users).where(eq(users.id, userId)),
    db
      .select({
        invitation: orgInvitations,
        org: { id: organizations.id, slug: organizations.slug, name: organizations.name },
        memberRole: orgMembers.role,
      })
      .from(orgInvitations)
      .innerJoin(organizations, and(eq(organizations.id, orgInvitations.orgId), isNull(organizations.deletedAt)))
      .leftJoin(orgMembers, and(eq(orgMembers.orgId, orgInvitations.orgId), eq(orgMembers.userId, userId)))
      .where(eq(orgInvitations.tokenHash, hash)),
  ]);
  // Verification first: an unverified account learns nothing about any token.
  if (!caller?.emailVerifiedAt) throw emailNotVerified();
  if (!found) throw new ApiError(404, { detail: "No invitation has this token." });
  const { invitation, org } = found;
  if (invitation.email !== caller.email) {
    const detail = "This invitation is for another address: sign in with the invited one.";
    throw new ApiError(403, { code: "INVITATION_EMAIL_MISMATCH", detail });
  }
  const state = invitationState(invitation);
  if (state === "accepted") throw new ApiError(409, { code: "INVITATION_USED", detail: "This invitation was already accepted." });
  if (state === "revoked") throw new ApiError(410, { code: "INVITATION_REVOKED", detail: "This invitation was revoked." });
  if (state === "expired")
    throw new ApiError(410, { code: "INVITATION_EXPIRED", detail: "This invitation has expired: ask for a new one." });
  if (found.memberRole) throw new ApiError(409, { code: "ALREADY_MEMBER", detail: `You are a member of ${org.slug} already.` });

  c.set("orgId", org.id);
  c.set("auditTarget", { type: "invitations", id: invitation.id });
  // Spend the invitation and join in one statement: of two requests with one token, one joins and the
  // other is refused; joining by another invitation meanwhile leaves this one unspent.
  const db = c.get("services").db;
  const joined = await db.execute<{ role: Role; created_at: string }>(sql`
    WITH spent AS (
      UPDATE org_invitations SET accepted_at = now(), accepted_by = ${userId}, updated_at = now()
      WHERE id = ${invitation.id} AND token_hash = ${hash} AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
        AND NOT EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = org_invitations.org_id AND m.user_id = ${userId})
      RETURNING org_id, role
    )
    INSERT INTO org_members (org_id, user_id, role) SELECT org_id, ${userId}, role FROM spent
    RETURNING role, created_at`);
  const row = joined.rows[0];
  if (!row) throw new ApiError(409, { code: "INVITATION_USED", detail: "This invitation was just used, revoked or replaced." });
  await emitEvent(c, org.id, "member.joined", { org: org.slug, userId, role: row.role, invitationId: invitation.id });
  return c.json({ organization: org, role: row.role, joinedAt: new Date(row.created_at).toISOString() }, 200);
};
