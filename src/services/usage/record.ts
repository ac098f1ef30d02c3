// Counting usage: requests and jobs send their counts to the usage queue, whose consumer adds them to daily rollups.
import type { Context } from "hono";
import type { UsageCounter } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import { describeError, type Logger } from "../../lib/logger.ts";
import type { AppEnv } from "../../lib/types.ts";
import { waitUntil } from "../../lib/wait-until.ts";

export type UsageCounts = Partial<Record<UsageCounter, number>>;

/** One usage queue message: what an organization used, at one instant (its UTC day is the rollup it lands in). */
export interface UsageMessage {
  orgId: string;
  at: string;
  counts: UsageCounts;
}

/** What a request has counted so far: recordUsage adds to it until the usage middleware sends it. */
export interface PendingUsage {
  counts: UsageCounts;
  sent: boolean;
}

/**
 * Sends `counts` for `orgId` to the usage queue (a queue send, never a Postgres round trip). A refused send is logged and
 * dropped: usage is a meter, and no request or job fails for it.
 */
export async function sendUsage(config: Pick<Config, "USAGE_QUEUE">, logger: Logger, orgId: string, counts: UsageCounts) {
  const kept = Object.fromEntries(Object.entries(counts).filter(([, value]) => Number.isFinite(value) && value! > 0));
  if (Object.keys(kept).length === 0) return;
  const message: UsageMessage = { orgId, at: new Date().toISOString(), counts: kept };
  try {
    await config.USAGE_QUEUE.send(message, { contentType: "json" });
  } catch (error) {
    logger.warn("usage queue unavailable; counts dropped", { orgId, counts: kept, ...describeError(error) });
  }
}

/**
 * Counts usage of the organization the request acts in (set by requireOrg and its kin), or of `orgId`. Inside the
 * request, counts join the request's own (one message when it ends: src/middleware/usage.ts); after it (a stream still
 * running), they are sent on their own.
 */
export function recordUsage(c: Context<AppEnv>, counts: UsageCounts, orgId = c.get("orgId")) {
  if (!orgId) return;
  const pending = c.get("usage");
  if (pending && !pending.sent && orgId === c.get("orgId")) {
    for (const [name, value] of Object.entries(counts) as [UsageCounter, number][])
      pending.counts[name] = (pending.counts[name] ?? 0) + value;
    return;
  }
  waitUntil(c, sendUsage(c.get("config"), c.get("logger"), orgId, counts));
}
