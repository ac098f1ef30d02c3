// Tenant isolation: every organization-scoped route resolves its organization here, so another tenant's is a 404.
import { and, eq, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { orgMembers, organizations, type Role } from "../db/schema.ts";
import { principalOf } from "../middleware/auth.ts";
import { type Action, allows, keyMayTake, keyRole, policy } from "./policy.ts";
import { ApiError } from "./problem.ts";
import type { AppEnv } from "./types.ts";

export type Organization = typeof organizations.$inferSelect;

/**
 * The organization `slug` as the caller may see it, with the caller's role there. Not a member
 * (or the org does not exist, or belongs to another key) → 404, indistinguishable; a member
 * whose role is below what `action` needs → 403.
 */
export async function requireOrg(c: Context<AppEnv>, slug: string, action: Action): Promise<{ org: Organization; role: Role }> {
  const principal = principalOf(c);
  const db = c.get("services").db;
  const live = and(eq(organizations.slug, slug), isNull(organizations.deletedAt));
  let found: { org: Organization; role: Role } | undefined;
  if (principal.kind === "api_key") {
    const [org] = await db.select().from(organizations).where(and(live, eq(organizations.id, principal.orgId)));
    if (org) found = { org, role: keyRole(principal.scopes) };
  } else {
    const [row] = await db
      .select({ org: organizations, role: orgMembers.role })
      .from(organizations)
      .innerJoin(orgMembers, and(eq(orgMembers.orgId, organizations.id), eq(orgMembers.userId, principal.userId)))
      .where(live);
    found = row;
  }
  if (!found) throw new ApiError(404, { detail: `No organization "${slug}" is visible to you.` });
  // From here the caller is inside: a refusal below is part of the organization's audit trail.
  c.set("orgId", found.org.id);
  if (principal.kind === "api_key" && !keyMayTake(action)) {
    throw new ApiError(403, { code: "FORBIDDEN", detail: `API keys cannot ${action.replace(":", " ")}; a person with the ${policy[action]} role can.` });
  }
  if (!allows(found.role, action)) {
    throw new ApiError(403, { code: "FORBIDDEN", detail: `Your role (${found.role}) cannot ${action.replace(":", " ")}; it needs ${policy[action]} or above.` });
  }
  return found;
}
