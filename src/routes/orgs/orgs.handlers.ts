// Organizations: list yours, create, read, update, delete. Every lookup goes through requireOrg.
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import { orgMembers, organizations, type Role, userTotp } from "../../db/schema.ts";
import { etagOf, expectedVersion, etagged } from "../../lib/etag.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { ApiError } from "../../lib/problem.ts";
import { requireOrg, type Organization } from "../../lib/tenancy.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/types.ts";
import { guarded } from "../../lib/session-guard.ts";
import { principalOf, userOf } from "../../lib/principal.ts";
import { allows, keyRole } from "../../lib/policy.ts";
import { forgetBudget } from "../../services/usage/budget.ts";
import { uniqueSlug } from "../../services/identity.ts";
import type * as routes from "./orgs.routes.ts";

export const present = (org: Organization, role: Role) => ({
  id: org.id,
  slug: org.slug,
  name: org.name,
  personal: org.personal,
  role,
  llmDataPolicy: org.llmDataPolicy,
  llmMonthlyBudget: org.llmMonthlyBudget,
  requireMfa: org.requireMfa,
  createdAt: org.createdAt.toISOString(),
  updatedAt: org.updatedAt.toISOString(),
});

const slugTaken = (slug: string) => new ApiError(409, { code: "CONFLICT", detail: `The slug "${slug}" is taken; choose another.` });
const isUniqueViolation = (error: unknown) => {
  for (let e = error; e; e = (e as { cause?: unknown }).cause) if ((e as { code?: string }).code === "23505") return true;
  return false;
};

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { limit, cursor } = c.req.valid("query");
  const page = keyset(organizations.createdAt, organizations.id, cursor);
  const principal = principalOf(c);
  const live = isNull(organizations.deletedAt);
  const rows =
    principal.kind === "api_key"
      ? (
          await c
            .get("services")
            .db.select()
            .from(organizations)
            .where(and(live, eq(organizations.id, principal.orgId), page.after))
            .limit(limit + 1)
        ).map((org) => ({ org, role: keyRole(principal.scopes) }))
      : (
          await guarded(c, (db) => [
            db
              .select({ org: organizations, role: orgMembers.role })
              .from(organizations)
              .innerJoin(orgMembers, and(eq(orgMembers.orgId, organizations.id), eq(orgMembers.userId, principal.userId)))
              .where(and(live, page.after))
              .orderBy(...page.order)
              .limit(limit + 1),
          ])
        )[0];
  const { data, nextCursor } = toPage(c, rows, limit, ({ org }) => ({ at: org.createdAt, id: org.id }));
  return c.json({ data: data.map(({ org, role }) => present(org, role)), nextCursor }, 200);
};

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { userId } = userOf(c);
  const { name, slug: wanted } = c.req.valid("json");
  const slug = wanted ?? uniqueSlug(name);
  const id = crypto.randomUUID();
  try {
    const [[org]] = await guarded(c, (db) => [
      db.insert(organizations).values({ id, slug, name, createdBy: userId }).returning(),
      db.insert(orgMembers).values({ orgId: id, userId, role: "owner" }),
    ]);
    c.header("Location", `/api/v1/orgs/${slug}`);
    c.set("orgId", id);
    c.set("auditTarget", { type: "orgs", id: slug });
    return c.json(present(org!, "owner"), 201);
  } catch (error) {
    if (isUniqueViolation(error)) throw slugTaken(slug);
    throw error;
  }
};

/** An organization's representation changes with its row and with the caller's role in it. */
const versionOf = (org: Organization, role: Role) => `${org.updatedAt.getTime()}-${role}`;

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { org, role } = await requireOrg(c, c.req.valid("param").slug, "org:read");
  return etagged(c, etagOf(versionOf(org, role)), () => c.json(present(org, role), 200));
};

/** A write conditional on If-Match: the row must still be as the client read it. */
const unchangedSince = (c: Context<AppEnv>, org: Organization, role: Role) =>
  expectedVersion(c, versionOf(org, role)) === undefined ? undefined : eq(organizations.updatedAt, org.updatedAt);

const stale = () => new ApiError(412, { detail: "The organization changed while this request was on its way; fetch it again and retry." });

/** Only owners change the MFA rule, and one turning it on has a second factor already (else they would lock themselves out). */
async function mayRequireMfa(c: Context<AppEnv>, role: Role, on: boolean) {
  if (role !== "owner")
    throw new ApiError(403, { code: "FORBIDDEN", detail: `Your role (${role}) cannot change requireMfa; it needs owner.` });
  if (!on) return;
  const [status] = await c
    .get("services")
    .db.select({ confirmedAt: userTotp.confirmedAt })
    .from(userTotp)
    .where(eq(userTotp.userId, userOf(c).userId));
  if (!status?.confirmedAt) {
    throw new ApiError(409, {
      code: "MFA_NOT_ENROLLED",
      detail: "Turn on two-factor sign-in for yourself first (POST /me/mfa/totp), then require it of the organization.",
    });
  }
}

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const { org, role } = await requireOrg(c, c.req.valid("param").slug, "org:update");
  const condition = unchangedSince(c, org, role);
  const changes = c.req.valid("json");
  if (Object.values(changes).every((value) => value === undefined)) return c.json(present(org, role), 200);
  if (changes.requireMfa !== undefined && changes.requireMfa !== org.requireMfa) await mayRequireMfa(c, role, changes.requireMfa);
  if (changes.llmMonthlyBudget !== undefined && !allows(role, "budget:update"))
    throw new ApiError(403, { code: "FORBIDDEN", detail: `Your role (${role}) cannot change llmMonthlyBudget; it needs owner.` });
  try {
    const [updated] = await c
      .get("services")
      .db.update(organizations)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(and(eq(organizations.id, org.id), condition))
      .returning();
    if (!updated) throw stale();
    if (changes.llmMonthlyBudget !== undefined) await forgetBudget(c, org.id);
    c.header("ETag", etagOf(versionOf(updated, role)));
    return c.json(present(updated, role), 200);
  } catch (error) {
    if (changes.slug && isUniqueViolation(error)) throw slugTaken(changes.slug);
    throw error;
  }
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { org, role } = await requireOrg(c, c.req.valid("param").slug, "org:delete");
  const condition = unchangedSince(c, org, role);
  if (org.personal) {
    throw new ApiError(409, {
      code: "CONFLICT",
      detail: "A personal organization goes with its account: delete the account (DELETE /api/v1/me) instead.",
    });
  }
  const [deleted] = await c
    .get("services")
    .db.update(organizations)
    .set({ deletedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(organizations.id, org.id), condition))
    .returning({ id: organizations.id });
  if (!deleted) throw stale();
  return c.body(null, 204);
};
