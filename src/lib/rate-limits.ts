// Rate limits: the one policy table, and `consume`, which spends from a bucket in Redis (@upstash/ratelimit).
import { Ratelimit } from "@upstash/ratelimit";
import type { Context } from "hono";
import type { Tier } from "../db/schema.ts";
import type { Config } from "../env.ts";
import { describeError } from "./logger.ts";
import { ApiError } from "./problem.ts";
import type { AppEnv } from "./types.ts";
import { waitUntil } from "./wait-until.ts";

/** The client's address as Cloudflare saw it, for limits per client and the audit trail. */
export const clientIp = (c: { req: { header(name: string): string | undefined } }) => c.req.header("CF-Connecting-IP") ?? "unknown";

export type PolicyName = Tier | "signin-ip" | "signin-email" | "signup-ip" | "verification-ip" | "verification-email" | "mfa-user" | "llm";

export interface Policy {
  name: PolicyName;
  /** Requests (or cost units) per window. */
  quota: number;
  windowSeconds: number;
}

/** Every limit the API enforces, in one place. Tiers and the LLM budget come from configuration. */
export function policies(config: Config): Record<PolicyName, Policy> {
  const policy = (name: PolicyName, quota: number, windowSeconds = 60): Policy => ({ name, quota, windowSeconds });
  return {
    free: policy("free", config.RATE_LIMIT_FREE),
    pro: policy("pro", config.RATE_LIMIT_PRO),
    enterprise: policy("enterprise", config.RATE_LIMIT_ENTERPRISE),
    // Password guessing: per client and per account, whichever runs out first.
    "signin-ip": policy("signin-ip", 20),
    "signin-email": policy("signin-email", 5),
    "signup-ip": policy("signup-ip", 10, 3_600),
    // Verification mail on request: a mailbox is not to be flooded, whoever asks.
    "verification-ip": policy("verification-ip", 10, 3_600),
    "verification-email": policy("verification-email", 3, 3_600),
    // Second-factor codes, every attempt: a million codes, three valid at a time, so ten tries per five minutes make a
    // guess take months.
    "mfa-user": policy("mfa-user", 10, 300),
    // Analyses and chat spend cost units (about one per thousand tokens), not requests.
    llm: policy("llm", config.RATE_LIMIT_LLM),
  };
}

export interface Outcome {
  policy: Policy;
  success: boolean;
  remaining: number;
  /** When the window ends (ms since the epoch). */
  reset: number;
}

/**
 * Identifiers known to be blocked, per policy, until their window ends: kept at module scope so a
 * blocked caller costs no Redis round trip while this isolate lives. (The Redis client itself is
 * built per request from env.)
 */
const blockedCaches = new Map<PolicyName, Map<string, number>>();

/** A Redis outage, noted once per incident rather than once per request. */
let incident: { since: number } | null = null;

export function rateLimiterState(config: Config) {
  if (!config.RATE_LIMIT_ENABLED) return { failMode: config.RATE_LIMIT_FAIL_MODE, status: "disabled" as const, since: null };
  return {
    failMode: config.RATE_LIMIT_FAIL_MODE,
    status: incident ? ("degraded" as const) : ("ok" as const),
    since: incident ? new Date(incident.since).toISOString() : null,
  };
}

function limiterFor(c: Context<AppEnv>, policy: Policy): Ratelimit {
  let cache = blockedCaches.get(policy.name);
  if (!cache) blockedCaches.set(policy.name, (cache = new Map()));
  return new Ratelimit({
    redis: c.get("services").redis,
    limiter: Ratelimit.fixedWindow(policy.quota, `${policy.windowSeconds} s`),
    prefix: `rl:${policy.name}`,
    ephemeralCache: cache,
    timeout: 0, // the deadline below decides, so that a timeout can fail closed too
    analytics: false,
  });
}

class Deadline extends Error {}

/**
 * Spends `cost` from `identifier`'s bucket of `policy`. Returns the outcome, or null when Redis
 * failed and the fail mode is open; throws 503 when it failed and the mode is closed.
 */
export async function consume(c: Context<AppEnv>, name: PolicyName, identifier: string, cost = 1): Promise<Outcome | null> {
  const config = c.get("config");
  if (!config.RATE_LIMIT_ENABLED) return null;
  const policy = policies(config)[name];
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Deadline(`no answer within ${config.RATE_LIMIT_TIMEOUT_MS} ms`)), config.RATE_LIMIT_TIMEOUT_MS);
    });
    const result = await Promise.race([limiterFor(c, policy).limit(identifier, { rate: cost }), deadline]);
    waitUntil(c, result.pending);
    if (incident) {
      c.get("logger").warn("rate limiter recovered", { downForMs: Date.now() - incident.since });
      incident = null;
    }
    return { policy, success: result.success, remaining: Math.max(0, result.remaining), reset: result.reset };
  } catch (error) {
    if (!incident) {
      incident = { since: Date.now() };
      c.get("logger").error("rate limiter unavailable", { failMode: config.RATE_LIMIT_FAIL_MODE, ...describeError(error) });
    }
    if (config.RATE_LIMIT_FAIL_MODE === "closed") {
      throw new ApiError(503, {
        code: "SERVICE_UNAVAILABLE",
        detail: "Rate limiting is unavailable, and this service refuses requests it cannot count. Retry shortly.",
        headers: { "Retry-After": "5" },
      });
    }
    return null;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

const secondsUntil = (reset: number) => Math.max(1, Math.ceil((reset - Date.now()) / 1000));

/**
 * Sets the IETF draft's `RateLimit-Policy` and `RateLimit` fields, and throws the 429 problem when
 * `outcome` was refused (Retry-After: the end of its window). A request that spends several buckets
 * (sign-in: the tier, per client and per address) lists every one in both fields, in the order
 * checked, as the draft's structured-field lists allow; a client reads the bucket it cares about by name.
 */
export function enforce(c: Context<AppEnv>, outcome: Outcome | null): void {
  if (!outcome) return;
  const { policy, reset } = outcome;
  const spent = [...(c.get("rateLimits") ?? []).filter((earlier) => earlier.policy.name !== policy.name), outcome];
  c.set("rateLimits", spent);
  c.header("RateLimit-Policy", spent.map(({ policy: p }) => `"${p.name}";q=${p.quota};w=${p.windowSeconds}`).join(", "));
  c.header("RateLimit", spent.map((o) => `"${o.policy.name}";r=${o.remaining};t=${secondsUntil(o.reset)}`).join(", "));
  if (!outcome.success) {
    throw new ApiError(429, {
      code: "RATE_LIMITED",
      detail: `Rate limit "${policy.name}" exceeded: ${policy.quota} per ${policy.windowSeconds} s. Retry after ${secondsUntil(reset)} s.`,
      headers: { "Retry-After": String(secondsUntil(reset)) },
      extensions: { policy: policy.name },
    });
  }
}
