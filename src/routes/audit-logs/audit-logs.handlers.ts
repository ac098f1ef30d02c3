// Reads an organization's audit log, filtered by actor, action and time.
import { and, eq, gte, lt } from "drizzle-orm";
import { auditLogs } from "../../db/schema.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { requireOrg } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import type * as routes from "./audit-logs.routes.ts";

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { slug } = c.req.valid("param");
  const { limit, cursor, actor, action, from, to } = c.req.valid("query");
  const page = keyset(auditLogs.at, auditLogs.id, cursor);
  const { org } = await requireOrg(c, slug, "audit:read");
  const rows = await c
    .get("services")
    .db.select()
    .from(auditLogs)
    .where(
      and(
        eq(auditLogs.orgId, org.id),
        actor ? eq(auditLogs.actorId, actor) : undefined,
        action ? eq(auditLogs.action, action) : undefined,
        from ? gte(auditLogs.at, new Date(from)) : undefined,
        to ? lt(auditLogs.at, new Date(to)) : undefined,
        page.after,
      ),
    )
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.at, id: row.id }));
  return c.json({ data: data.map(({ orgId: _org, ...row }) => ({ ...row, at: row.at.toISOString() })), nextCursor }, 200);
};
