// The caller's own account: read, rename, delete (soft, revoking every credential at once).
import { and, eq, isNull, sql } from "drizzle-orm";
import { orgMembers, organizations, users } from "../../db/schema.ts";
import { ApiError } from "../../lib/problem.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { guarded } from "../../lib/session-guard.ts";
import { userOf } from "../../lib/principal.ts";
import { presentUser } from "../auth/auth.routes.ts";
import type * as routes from "./me.routes.ts";

export const getMe: AppRouteHandler<typeof routes.getMe> = async (c) => {
  const { userId } = userOf(c);
  const [[user], memberships] = await guarded(c, (db) => [
    db.select().from(users).where(eq(users.id, userId)),
    db
      .select({
        id: organizations.id,
        slug: organizations.slug,
        name: organizations.name,
        personal: organizations.personal,
        role: orgMembers.role,
      })
      .from(orgMembers)
      .innerJoin(organizations, and(eq(organizations.id, orgMembers.orgId), isNull(organizations.deletedAt)))
      .where(eq(orgMembers.userId, userId))
      .orderBy(organizations.createdAt),
  ]);
  if (!user) throw new ApiError(404, { detail: "Your account no longer exists." });
  return c.json({ ...presentUser(user), organizations: memberships }, 200);
};

export const updateMe: AppRouteHandler<typeof routes.updateMe> = async (c) => {
  const { userId } = userOf(c);
  const { name } = c.req.valid("json");
  const [[user]] = await guarded(c, (db) => [
    db.update(users).set({ name, updatedAt: sql`now()` }).where(eq(users.id, userId)).returning(),
  ]);
  if (!user) throw new ApiError(404, { detail: "Your account no longer exists." });
  return c.json(presentUser(user), 200);
};

const isDivisionByZero = (error: unknown) => {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: string }).code === "22012") return true;
  }
  return false;
};

const lastOwnerNow = () =>
  new ApiError(409, {
    code: "LAST_OWNER",
    detail: "Another owner stepped down meanwhile: you are now the last owner of an organization. Make someone else an owner first.",
  });

export const deleteMe: AppRouteHandler<typeof routes.deleteMe> = async (c) => {
  const { userId } = userOf(c);
  // Organizations where the caller is the only owner, with how many other members each has.
  const [sole] = await guarded(c, (db) => [
    db.execute<{ id: string; slug: string; others: number }>(sql`
    SELECT o.id, o.slug, (SELECT count(*)::int FROM org_members x WHERE x.org_id = o.id AND x.user_id <> ${userId}) AS others
    FROM organizations o JOIN org_members m ON m.org_id = o.id AND m.user_id = ${userId} AND m.role = 'owner'
    WHERE o.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM org_members y WHERE y.org_id = o.id AND y.role = 'owner' AND y.user_id <> ${userId})`),
  ]);
  const blocked = sole.rows.filter((org) => org.others > 0);
  if (blocked.length > 0) {
    throw new ApiError(409, {
      code: "LAST_OWNER",
      detail: `You are the last owner of ${blocked.map((org) => `"${org.slug}"`).join(", ")}: make someone else an owner (or remove the other members) first.`,
    });
  }
  // A Postgres array literal: drizzle would expand a JS array into a parameter list. The ids are uuids from the database.
  const alone = `{${sole.rows.map((org) => org.id).join(",")}}`;
  const db = c.get("services").db;
  // The check above ran in its own snapshot: another owner may be stepping down right now. So the batch first locks
  // the owner rows of every organization the caller owns (in the order the members routes lock them, see notLastOwner),
  // then, in a fresh READ COMMITTED snapshot that sees every change committed before the locks, fails the whole batch
  // (division by zero) if one of them would be left with no owner.
  const stillOwned = sql`
    SELECT 1 FROM org_members m JOIN organizations o ON o.id = m.org_id AND o.deleted_at IS NULL
    WHERE m.user_id = ${userId} AND m.role = 'owner' AND NOT (m.org_id = ANY(${alone}::uuid[]))
      AND NOT EXISTS (SELECT 1 FROM org_members y WHERE y.org_id = m.org_id AND y.role = 'owner' AND y.user_id <> ${userId})`;
  await db
    .batch([
      db.execute(sql`
      SELECT 1 FROM org_members o
      WHERE o.role = 'owner' AND o.org_id IN (SELECT org_id FROM org_members WHERE user_id = ${userId} AND role = 'owner')
      ORDER BY o.org_id, o.user_id FOR UPDATE OF o`),
      db.execute(sql`SELECT 1 / (CASE WHEN EXISTS (${stillOwned}) THEN 0 ELSE 1 END) AS ok`),
      db.execute(sql`UPDATE users SET deleted_at = now(), updated_at = now() WHERE id = ${userId}`),
      db.execute(
        sql`UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'account_deleted' WHERE user_id = ${userId} AND revoked_at IS NULL`,
      ),
      db.execute(sql`UPDATE api_keys SET revoked_at = now() WHERE created_by = ${userId} AND revoked_at IS NULL`),
      db.execute(sql`UPDATE organizations SET deleted_at = now(), updated_at = now() WHERE id = ANY(${alone}::uuid[])`),
      db.execute(sql`DELETE FROM org_members WHERE user_id = ${userId} AND NOT (org_id = ANY(${alone}::uuid[]))`),
    ])
    .catch((error: unknown) => {
      if (isDivisionByZero(error)) throw lastOwnerNow();
      throw error;
    });
  return c.body(null, 204);
};
