// Members: list, invite (and the invitations' list, resend, revoke), change role, remove or leave. The last owner stays.
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import { orgInvitations, orgMembers, users, type Role } from "../../db/schema.ts";
import type { Organization } from "../../lib/tenancy.ts";
import { invitationEmail } from "../../services/email/messages.ts";
import { sendLater } from "../../services/email/send.ts";
import { invitationState, newInvitationToken } from "../../services/invitations.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { outranks } from "../../lib/policy.ts";
import { ApiError } from "../../lib/problem.ts";
import { requireOrg } from "../../lib/tenancy.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/types.ts";
import { userOf } from "../../lib/principal.ts";
import { emitEvent } from "../../services/webhooks/events.ts";
import type * as routes from "./members.routes.ts";

const memberColumns = { userId: users.id, email: users.email, name: users.name, role: orgMembers.role, joinedAt: orgMembers.createdAt };
type MemberRow = { userId: string; email: string; name: string | null; role: Role; joinedAt: Date };
const present = (row: MemberRow) => ({ ...row, joinedAt: row.joinedAt.toISOString() });

const lastOwner = () =>
  new ApiError(409, { code: "LAST_OWNER", detail: "An organization needs an owner: make someone else an owner first." });

/** Only an owner may grant the owner role or touch an owner's membership. */
function guardOwnerChanges(callerRole: Role, targetRole: Role | undefined, newRole?: Role) {
  if (callerRole === "owner") return;
  if (targetRole === "owner" || newRole === "owner") {
    throw new ApiError(403, { code: "FORBIDDEN", detail: "Only an owner can grant the owner role or change an owner's membership." });
  }
}

async function findMember(c: Context<AppEnv>, orgId: string, userId: string): Promise<MemberRow> {
  const [member] = await c
    .get("services")
    .db.select(memberColumns)
    .from(orgMembers)
    .innerJoin(users, and(eq(users.id, orgMembers.userId), isNull(users.deletedAt)))
    .where(and(eq(orgMembers.orgId, orgId), eq(orgMembers.userId, userId)));
  if (!member) throw new ApiError(404, { detail: "No such member in this organization." });
  return member;
}

/**
 * Keeps the row unless it is the organization's last owner, in the one statement that demotes or removes it. A plain
 * count is not enough under READ COMMITTED: two owners demoting each other each count two owners in their own snapshot,
 * touch different rows, and both succeed. So the count locks the owners' rows (FOR UPDATE, in user id order, the same
 * order everywhere, so two of these never deadlock): the second statement waits for the first to commit, re-reads each
 * owner row it waited on at its latest version and drops one that is no longer an owner (EvalPlanQual), so it counts
 * only owners that still are, and holds them until it commits. An owner added meanwhile is not counted, which can only
 * refuse, never lose the last owner. Account deletion (me.handlers.ts) takes the same locks in the same order.
 */
export const notLastOwner = (orgId: string) =>
  sql`(${orgMembers.role} <> 'owner' OR (SELECT count(*) FROM (
        SELECT 1 FROM org_members o WHERE o.org_id = ${orgId} AND o.role = 'owner' ORDER BY o.user_id FOR UPDATE) owners) > 1)`;

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { slug } = c.req.valid("param");
  const { limit, cursor } = c.req.valid("query");
  const page = keyset(orgMembers.createdAt, orgMembers.userId, cursor);
  const { org } = await requireOrg(c, slug, "members:read");
  const rows = await c
    .get("services")
    .db.select(memberColumns)
    .from(orgMembers)
    .innerJoin(users, and(eq(users.id, orgMembers.userId), isNull(users.deletedAt)))
    .where(and(eq(orgMembers.orgId, org.id), page.after))
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.joinedAt, id: row.userId }));
  return c.json({ data: data.map(present), nextCursor }, 200);
};

type InvitationRow = typeof orgInvitations.$inferSelect;
const presentInvitation = (row: InvitationRow) => ({
  id: row.id,
  email: row.email,
  role: row.role,
  status: invitationState(row) === "expired" ? ("expired" as const) : ("pending" as const),
  invitedBy: row.invitedBy,
  createdAt: row.createdAt.toISOString(),
  expiresAt: row.expiresAt.toISOString(),
});
const pending = sql`${orgInvitations.acceptedAt} IS NULL AND ${orgInvitations.revokedAt} IS NULL`;

/** Emails the link for `token` (after the response): the address is the only one that learns the token. */
async function mailInvitation(c: Context<AppEnv>, org: Organization, invitation: InvitationRow, token: string) {
  const caller = userOf(c);
  const [inviter] = await c.get("services").db.select({ name: users.name }).from(users).where(eq(users.id, caller.userId));
  const details = { orgName: org.name, role: invitation.role, inviterName: inviter?.name ?? null, expiresAt: invitation.expiresAt };
  sendLater(c, "invitation", invitationEmail(c.get("config"), invitation.email, token, details));
}

export const listInvitations: AppRouteHandler<typeof routes.listInvitations> = async (c) => {
  const { slug } = c.req.valid("param");
  const { limit, cursor } = c.req.valid("query");
  const page = keyset(orgInvitations.createdAt, orgInvitations.id, cursor);
  const { org } = await requireOrg(c, slug, "members:manage");
  const rows = await c
    .get("services")
    .db.select()
    .from(orgInvitations)
    .where(and(eq(orgInvitations.orgId, org.id), pending, page.after))
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.createdAt, id: row.id }));
  return c.json({ data: data.map(presentInvitation), nextCursor }, 200);
};

/**
 * Always an invitation, never a membership: whether the address has an account, or is a member
 * already, changes neither the status nor the shape of the answer (no enumeration, no consent skipped).
 */
export const invite: AppRouteHandler<typeof routes.invite> = async (c) => {
  const { slug } = c.req.valid("param");
  const { email, role } = c.req.valid("json");
  const caller = userOf(c);
  const { org, role: callerRole } = await requireOrg(c, slug, "members:manage");
  guardOwnerChanges(callerRole, undefined, role);
  const issued = await newInvitationToken(c.get("config").INVITATION_TTL_DAYS);
  const fresh = { role, invitedBy: caller.userId, tokenHash: issued.hash, expiresAt: issued.expiresAt, updatedAt: sql`now()` };
  // One pending invitation per address: inviting again replaces its role, link and expiry (the old link stops working).
  const [invitation] = await c
    .get("services")
    .db.insert(orgInvitations)
    .values({ id: crypto.randomUUID(), orgId: org.id, email, ...fresh })
    .onConflictDoUpdate({ target: [orgInvitations.orgId, orgInvitations.email], targetWhere: pending, set: fresh })
    .returning();
  c.set("auditTarget", { type: "invitations", id: invitation!.id });
  await mailInvitation(c, org, invitation!, issued.token);
  return c.json(presentInvitation(invitation!), 202);
};

/** A pending invitation of `org` the caller may manage (only owners touch invitations to the owner role). */
async function pendingInvitation(c: Context<AppEnv>, orgId: string, id: string, callerRole: Role): Promise<InvitationRow> {
  const [row] = await c
    .get("services")
    .db.select()
    .from(orgInvitations)
    .where(and(eq(orgInvitations.id, id), eq(orgInvitations.orgId, orgId), pending));
  if (!row) throw new ApiError(404, { detail: "No pending invitation with this id in this organization." });
  guardOwnerChanges(callerRole, undefined, row.role);
  return row;
}

export const resendInvitation: AppRouteHandler<typeof routes.resendInvitation> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { org, role: callerRole } = await requireOrg(c, slug, "members:manage");
  await pendingInvitation(c, org.id, id, callerRole);
  const issued = await newInvitationToken(c.get("config").INVITATION_TTL_DAYS);
  const [invitation] = await c
    .get("services")
    .db.update(orgInvitations)
    .set({ tokenHash: issued.hash, expiresAt: issued.expiresAt, updatedAt: sql`now()` })
    .where(and(eq(orgInvitations.id, id), eq(orgInvitations.orgId, org.id), pending))
    .returning();
  // Accepted or revoked between the two statements.
  if (!invitation) throw new ApiError(404, { detail: "No pending invitation with this id in this organization." });
  await mailInvitation(c, org, invitation, issued.token);
  return c.json(presentInvitation(invitation), 202);
};

export const revokeInvitation: AppRouteHandler<typeof routes.revokeInvitation> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { org, role: callerRole } = await requireOrg(c, slug, "members:manage");
  await pendingInvitation(c, org.id, id, callerRole);
  const [revoked] = await c
    .get("services")
    .db.update(orgInvitations)
    .set({ revokedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(orgInvitations.id, id), eq(orgInvitations.orgId, org.id), pending))
    .returning({ id: orgInvitations.id });
  if (!revoked) throw new ApiError(404, { detail: "No pending invitation with this id in this organization." });
  return c.body(null, 204);
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const { slug, userId } = c.req.valid("param");
  const { role } = c.req.valid("json");
  const { org, role: callerRole } = await requireOrg(c, slug, "members:manage");
  const target = await findMember(c, org.id, userId);
  guardOwnerChanges(callerRole, target.role, role);
  if (outranks(target.role, callerRole))
    throw new ApiError(403, { code: "FORBIDDEN", detail: "You cannot change the role of someone above you." });
  const demotion = role !== "owner" ? notLastOwner(org.id) : sql`true`;
  const [updated] = await c
    .get("services")
    .db.update(orgMembers)
    .set({ role, updatedAt: sql`now()` })
    .where(and(eq(orgMembers.orgId, org.id), eq(orgMembers.userId, userId), demotion))
    .returning({ role: orgMembers.role });
  if (!updated) throw lastOwner();
  return c.json(present({ ...target, role: updated.role }), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { slug, userId } = c.req.valid("param");
  const caller = userOf(c);
  const leaving = userId === caller.userId;
  // Anyone may leave; removing someone else takes members:manage.
  const { org, role: callerRole } = await requireOrg(c, slug, leaving ? "org:read" : "members:manage");
  const target = await findMember(c, org.id, userId);
  if (!leaving) {
    guardOwnerChanges(callerRole, target.role);
    if (outranks(target.role, callerRole)) throw new ApiError(403, { code: "FORBIDDEN", detail: "You cannot remove someone above you." });
  }
  const [removed] = await c
    .get("services")
    .db.delete(orgMembers)
    .where(and(eq(orgMembers.orgId, org.id), eq(orgMembers.userId, userId), notLastOwner(org.id)))
    .returning({ userId: orgMembers.userId });
  if (!removed) throw lastOwner();
  await emitEvent(c, org.id, "member.removed", { org: org.slug, userId, role: target.role, removedBy: caller.userId, left: leaving });
  return c.body(null, 204);
};
