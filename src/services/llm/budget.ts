// Which engine a request gets, and what a model call costs the caller before it is made.
import type { Context } from "hono";
import { ApiError } from "../../lib/problem.ts";
import { consume, enforce } from "../../lib/rate-limits.ts";
import type { AppEnv } from "../../lib/types.ts";
import { principalOf } from "../../lib/principal.ts";
import type { Engine } from "../analysis/run.ts";
import { spendMonthlyBudget } from "../usage/budget.ts";
import { recordUsage } from "../usage/record.ts";
import { assertModelAvailable, modelConfigured } from "./model.ts";

/** Who pays for model calls: the API key, else the person. */
export const llmBudgetOwner = (c: Context<AppEnv>) => {
  const principal = principalOf(c);
  return principal.kind === "api_key" ? `key:${principal.keyId}` : `user:${principal.userId}`;
};

/** The engine a request gets: the model when configured (and not declined), else the statistical engine. */
export function chooseEngine(c: Context<AppEnv>, asked: "auto" | "openai" | "statistical"): Engine {
  const configured = modelConfigured(c.get("config"));
  if (asked === "openai" && !configured) {
    throw new ApiError(422, { detail: 'No model is configured here (OPENAI_API_KEY is unset); use engine "auto" or "statistical".' });
  }
  return asked === "statistical" || !configured ? "statistical" : "openai";
}

/**
 * Spends the caller's model budget (about one unit per thousand tokens: the per-minute `llm` bucket, then the
 * organization's month, 402 once spent), counts the units as usage, and checks the breaker.
 */
export async function spendModelBudget(c: Context<AppEnv>, tokens: number) {
  const units = Math.max(1, Math.ceil(tokens / 1_000));
  enforce(c, await consume(c, "llm", llmBudgetOwner(c), units));
  const orgId = c.get("orgId");
  if (orgId) await spendMonthlyBudget(c, orgId, units);
  recordUsage(c, { llmUnits: units });
  assertModelAvailable(c.get("config"));
}
