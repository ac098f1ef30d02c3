// Reads an organization's usage: every day of the range (zeros where nothing was counted), newest first, and its budget.
import { and, eq, gte, lte } from "drizzle-orm";
import { usageCounters, usageDaily } from "../../db/schema.ts";
import { decodeCursor, toPage } from "../../lib/pagination.ts";
import { ApiError } from "../../lib/problem.ts";
import { requireOrg } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { monthlyBudget } from "../../services/usage/budget.ts";
import { MAX_USAGE_DAYS } from "./usage.routes.ts";
import type * as routes from "./usage.routes.ts";

const DAY_MS = 86_400_000;
const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);
const timeOf = (day: string) => Date.parse(`${day}T00:00:00Z`);

const badRange = (path: string, message: string) =>
  new ApiError(400, { code: "VALIDATION_FAILED", detail: `Invalid range: ${message}.`, errors: [{ path, message }] });

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { slug } = c.req.valid("param");
  const { limit, cursor, from: asFrom, to: asTo } = c.req.valid("query");
  const to = timeOf(asTo ?? dayOf(Date.now()));
  const from = asFrom ? timeOf(asFrom) : to - 29 * DAY_MS;
  if (from > to) throw badRange("query.from", "from is after to");
  if ((to - from) / DAY_MS + 1 > MAX_USAGE_DAYS) throw badRange("query.from", `the range spans more than ${MAX_USAGE_DAYS} days`);
  const after = decodeCursor(cursor);
  const { org } = await requireOrg(c, slug, "usage:read");

  // The page's days, newest first: from the day before the cursor's (or `to`) back to `from`, one more to know if there is a next.
  const first = after ? Math.min(to, timeOf(dayOf(after.at.getTime())) - DAY_MS) : to;
  const days: string[] = [];
  for (let time = first; time >= from && days.length <= limit; time -= DAY_MS) days.push(dayOf(time));
  const shown = days.slice(0, limit);
  const db = c.get("services").db;
  const [rows, budget] = await Promise.all([
    shown.length
      ? db
          .select()
          .from(usageDaily)
          .where(and(eq(usageDaily.orgId, org.id), lte(usageDaily.day, shown[0]!), gte(usageDaily.day, shown.at(-1)!)))
      : [],
    monthlyBudget(c, org.id),
  ]);
  const byDay = new Map(rows.map((row) => [row.day, row]));
  const filled = days.map((day) => {
    const row = byDay.get(day);
    return { day, ...Object.fromEntries(usageCounters.map((name) => [name, row ? row[name] : 0])) } as { day: string } & Record<
      (typeof usageCounters)[number],
      number
    >;
  });
  const { data, nextCursor } = toPage(c, filled, limit, (row) => ({ at: new Date(timeOf(row.day)), id: "day" }));
  return c.json({ data, nextCursor, budget }, 200);
};
