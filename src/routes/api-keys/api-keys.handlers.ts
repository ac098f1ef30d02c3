// API keys: create (the secret shown once, only its hash kept), list, revoke.
import { and, eq, sql } from "drizzle-orm";
import { apiKeys } from "../../db/schema.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { ApiError } from "../../lib/problem.ts";
import { requireOrg } from "../../lib/tenancy.ts";
import { requireVerifiedEmail } from "../../lib/verified.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { userOf } from "../../lib/principal.ts";
import { newApiKey } from "../../services/tokens.ts";
import { emitEvent } from "../../services/webhooks/events.ts";
import type * as routes from "./api-keys.routes.ts";

type Row = typeof apiKeys.$inferSelect;
const iso = (date: Date | null) => date?.toISOString() ?? null;
const present = (row: Row) => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  scopes: row.scopes,
  createdBy: row.createdBy,
  createdAt: row.createdAt.toISOString(),
  lastUsedAt: iso(row.lastUsedAt),
  expiresAt: iso(row.expiresAt),
  revokedAt: iso(row.revokedAt),
});

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { slug } = c.req.valid("param");
  const { limit, cursor } = c.req.valid("query");
  const page = keyset(apiKeys.createdAt, apiKeys.id, cursor);
  const { org } = await requireOrg(c, slug, "api_keys:read");
  const rows = await c
    .get("services")
    .db.select()
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, org.id), page.after))
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.createdAt, id: row.id }));
  return c.json({ data: data.map(present), nextCursor }, 200);
};

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { slug } = c.req.valid("param");
  const { name, scopes, expiresInDays } = c.req.valid("json");
  const { userId } = userOf(c);
  const { org } = await requireOrg(c, slug, "api_keys:manage");
  // A key acts without its creator present: it is for accounts whose address is proven.
  await requireVerifiedEmail(c, userId);
  const secret = await newApiKey();
  const [row] = await c
    .get("services")
    .db.insert(apiKeys)
    .values({
      id: crypto.randomUUID(),
      orgId: org.id,
      createdBy: userId,
      name,
      prefix: secret.prefix,
      keyHash: secret.hash,
      scopes: [...new Set(scopes.includes("write") ? ["read" as const, ...scopes] : scopes)],
      expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * 86_400_000) : null,
    })
    .returning();
  await emitEvent(c, org.id, "api_key.created", { apiKeyId: row!.id, name, prefix: secret.prefix, scopes: row!.scopes, createdBy: userId });
  c.header("Cache-Control", "no-store");
  c.set("auditTarget", { type: "api-keys", id: row!.id });
  c.header("Location", `/api/v1/orgs/${org.slug}/api-keys/${row!.id}`);
  return c.json({ ...present(row!), key: secret.key }, 201);
};

export const revoke: AppRouteHandler<typeof routes.revoke> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { org } = await requireOrg(c, slug, "api_keys:manage");
  const [row] = await c
    .get("services")
    .db.update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
    .where(and(eq(apiKeys.id, id), eq(apiKeys.orgId, org.id)))
    .returning({ id: apiKeys.id, name: apiKeys.name, prefix: apiKeys.prefix });
  if (!row) throw new ApiError(404, { detail: "No such API key in this organization." });
  await emitEvent(c, org.id, "api_key.revoked", { apiKeyId: row.id, name: row.name, prefix: row.prefix, revokedBy: userOf(c).userId });
  return c.body(null, 204);
};
