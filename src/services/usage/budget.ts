// An organization's monthly LLM budget: a Redis counter per organization and month, seeded from the daily rollups.
//
// Where spend is checked: one Lua script on one Redis hash per organization and UTC month (`spent`, the effective
// `budget`, and `seeded`), so a model call costs one Redis round trip and no Postgres one. When the hash is new (first
// call of the month, or Redis lost it) the request reads the organization's budget and the month's `llm_units` from the
// rollups once, and the script seeds the counter with them before it checks.
import { and, eq, gte, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { Database } from "../../db/client.ts";
import { organizations, type Tier, usageDaily } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import { describeError } from "../../lib/logger.ts";
import { ApiError } from "../../lib/problem.ts";
import type { AppEnv } from "../../lib/types.ts";

/** The budget an organization of `tier` has unless it sets its own. */
export function tierBudget(config: Config, tier: Tier): number {
  return { free: config.LLM_MONTHLY_BUDGET_FREE, pro: config.LLM_MONTHLY_BUDGET_PRO, enterprise: config.LLM_MONTHLY_BUDGET_ENTERPRISE }[
    tier
  ];
}

/** The first instant of the UTC month after `now`: when a month's budget renews. */
export const monthResetsAt = (now = new Date()) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
const monthStart = (now = new Date()) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));

export const budgetKey = (orgId: string, now = new Date()) => `llm-budget:${orgId}:${now.toISOString().slice(0, 7)}`;

/**
 * KEYS[1] the month's hash; ARGV: units to spend, then (only when seeding) the budget, the units already spent by the
 * rollups, and the key's lifetime in seconds. Answers {-1} when the hash needs seeding, else {spent?1:0, spent, budget}.
 */
const SPEND = `
if ARGV[2] then
  redis.call('HSET', KEYS[1], 'budget', ARGV[2])
  if redis.call('HSETNX', KEYS[1], 'seeded', '1') == 1 then redis.call('HINCRBY', KEYS[1], 'spent', ARGV[3]) end
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
local budget = redis.call('HGET', KEYS[1], 'budget')
if not budget or redis.call('HEXISTS', KEYS[1], 'seeded') == 0 then return {-1} end
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
budget = tonumber(budget)
if spent >= budget then return {0, spent, budget} end
return {1, redis.call('HINCRBY', KEYS[1], 'spent', ARGV[1]), budget}
`;

/** The organization's effective budget and what its rollups say this month spent: the seed of the month's counter. */
export async function budgetSeed(db: Database, config: Config, orgId: string, now = new Date()) {
  const [[org], [month]] = await db.batch([
    db.select({ budget: organizations.llmMonthlyBudget, tier: organizations.tier }).from(organizations).where(eq(organizations.id, orgId)),
    db
      .select({ units: sql<string>`coalesce(sum(${usageDaily.llmUnits}), 0)` })
      .from(usageDaily)
      .where(and(eq(usageDaily.orgId, orgId), gte(usageDaily.day, monthStart(now).toISOString().slice(0, 10)))),
  ]);
  return { budget: org ? (org.budget ?? tierBudget(config, org.tier)) : 0, spent: Number(month?.units ?? 0) };
}

/** The 402 of a spent budget: when it renews, in the body and as Retry-After. */
function exhausted(budget: number, spent: number, now = new Date()): ApiError {
  const resetsAt = monthResetsAt(now);
  return new ApiError(402, {
    code: "BUDGET_EXHAUSTED",
    detail: `This organization has spent its monthly LLM budget (${spent} of ${budget} units); it renews at ${resetsAt.toISOString()}. The statistical engine (engine "statistical") still answers.`,
    headers: { "Retry-After": String(Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000))) },
    extensions: { resetsAt: resetsAt.toISOString(), budget, spent },
  });
}

/**
 * Spends `units` of the organization's month, or throws 402 BUDGET_EXHAUSTED once what it spent reached its budget (a
 * call that starts under the budget may end past it). With Redis unreachable the rate limiter's fail mode decides.
 */
export async function spendMonthlyBudget(c: Context<AppEnv>, orgId: string, units: number): Promise<void> {
  const config = c.get("config");
  const redis = c.get("services").redis;
  const key = budgetKey(orgId);
  const run = (seed: { budget: number; spent: number } | null) =>
    redis.eval<string[], number[]>(
      SPEND,
      [key],
      seed
        ? [
            String(units),
            String(seed.budget),
            String(seed.spent),
            String(Math.ceil((monthResetsAt().getTime() - Date.now()) / 1000) + 86_400),
          ]
        : [String(units)],
    );
  let answer: number[];
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // A Redis that does not answer is treated as down after the rate limiter's own deadline.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${config.RATE_LIMIT_TIMEOUT_MS} ms`)), config.RATE_LIMIT_TIMEOUT_MS);
    });
    answer = await Promise.race([run(null), deadline]);
    if (answer[0] === -1) answer = await run(await budgetSeed(c.get("services").db, config, orgId));
  } catch (error) {
    if (error instanceof ApiError) throw error;
    c.get("logger").error("LLM budget unavailable", { failMode: config.RATE_LIMIT_FAIL_MODE, ...describeError(error) });
    if (config.RATE_LIMIT_FAIL_MODE === "closed") {
      throw new ApiError(503, {
        code: "SERVICE_UNAVAILABLE",
        detail: "The LLM budget cannot be checked right now, and this service refuses model calls it cannot count. Retry shortly.",
        headers: { "Retry-After": "5" },
      });
    }
    return;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  const [spentNow, spent, budget] = answer;
  if (spentNow === 0) throw exhausted(budget!, spent!);
}

/** After an owner changes the budget: the month's counter reads it again with the next call (what was spent stays). */
export async function forgetBudget(c: Context<AppEnv>, orgId: string): Promise<void> {
  try {
    await c.get("services").redis.hdel(budgetKey(orgId), "budget");
  } catch (error) {
    // The change is saved; the month's counter keeps the old budget until Redis answers a later change (or the month ends).
    c.get("logger").error("LLM budget change not passed to the counter", { orgId, ...describeError(error) });
  }
}

/** What the organization spent this month and may spend, as the counter has it (or the rollups, before the first call). */
export async function monthlyBudget(c: Context<AppEnv>, orgId: string) {
  const seed = await budgetSeed(c.get("services").db, c.get("config"), orgId);
  let spent = seed.spent;
  try {
    const counted = await c.get("services").redis.hget<string | number>(budgetKey(orgId), "spent");
    if (counted !== null && counted !== undefined) spent = Number(counted);
  } catch (error) {
    c.get("logger").warn("LLM budget counter unavailable; showing the rollups", describeError(error));
  }
  return { units: seed.budget, spent, resetsAt: monthResetsAt().toISOString() };
}
