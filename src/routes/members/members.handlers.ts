// Members: list, invite, change role, remove or leave. The last owner can neither leave nor be demoted.
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import { orgInvitations, orgMembers, users, type Role } from "../../db/schema.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { outranks } from "../../lib/policy.ts";
import { ApiError } from "../../lib/problem.ts";
import { requireOrg } from "../../lib/tenancy.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/types.ts";
import { userOf } from "../../middleware/auth.ts";
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
  const [member] = await c.get("services").db
    .select(memberColumns)
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
  const rows = await c.get("services").db
    .select(memberColumns)
    .from(orgMembers)
    .innerJoin(users, and(eq(users.id, orgMembers.userId), isNull(users.deletedAt)))
    .where(and(eq(orgMembers.orgId, org.id), page.after))
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.joinedAt, id: row.userId }));
  return c.json({ data: data.map(present), nextCursor }, 200);
};

export const listInvitations: AppRouteHandler<typeof routes.listInvitations> = async (c) => {
  const { slug } = c.req.valid("param");
  const { limit, cursor } = c.req.valid("query");
  const page = keyset(orgInvitations.createdAt, orgInvitations.id, cursor);
  const { org } = await requireOrg(c, slug, "members:manage");
  const rows = await c.get("services").db
    .select({ id: orgInvitations.id, email: orgInvitations.email, role: orgInvitations.role, createdAt: orgInvitations.createdAt })
    .from(orgInvitations)
    .where(and(eq(orgInvitations.orgId, org.id), page.after))
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.createdAt, id: row.id }));
  return c.json({ data: data.map((row) => ({ ...row, createdAt: row.createdAt.toISOString() })), nextCursor }, 200);
};

export const invite: AppRouteHandler<typeof routes.invite> = async (c) => {
  const { slug } = c.req.valid("param");
  const { email, role } = c.req.valid("json");
  const caller = userOf(c);
  const { org, role: callerRole } = await requireOrg(c, slug, "members:manage");
  guardOwnerChanges(callerRole, undefined, role);
  const db = c.get("services").db;
  const [existing] = await db.select({ id: users.id }).from(users).where(and(eq(users.email, email), isNull(users.deletedAt)));
  if (existing) {
    const [added] = await db.insert(orgMembers).values({ orgId: org.id, userId: existing.id, role }).onConflictDoNothing().returning();
    if (!added) throw new ApiError(409, { code: "CONFLICT", detail: `${email} is already a member.` });
    c.set("auditTarget", { type: "members", id: existing.id });
    return c.json(present(await findMember(c, org.id, existing.id)), 201);
  }
  const [invitation] = await db
    .insert(orgInvitations)
    .values({ id: crypto.randomUUID(), orgId: org.id, email, role, invitedBy: caller.userId })
    .onConflictDoUpdate({ target: [orgInvitations.orgId, orgInvitations.email], set: { role, invitedBy: caller.userId } })
    .returning();
  c.set("auditTarget", { type: "invitations", id: invitation!.id });
  return c.json({ id: invitation!.id, email: invitation!.email, role: invitation!.role, createdAt: invitation!.createdAt.toISOString() }, 202);
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const { slug, userId } = c.req.valid("param");
  const { role } = c.req.valid("json");
  const { org, role: callerRole } = await requireOrg(c, slug, "members:manage");
  const target = await findMember(c, org.id, userId);
  guardOwnerChanges(callerRole, target.role, role);
  if (outranks(target.role, callerRole)) throw new ApiError(403, { code: "FORBIDDEN", detail: "You cannot change the role of someone above you." });
  const demotion = role !== "owner" ? notLastOwner(org.id) : sql`true`;
  const [updated] = await c.get("services").db
    .update(orgMembers)
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
  const [removed] = await c.get("services").db
    .delete(orgMembers)
    .where(and(eq(orgMembers.orgId, org.id), eq(orgMembers.userId, userId), notLastOwner(org.id)))
    .returning({ userId: orgMembers.userId });
  if (!removed) throw lastOwner();
  return c.body(null, 204);
};
