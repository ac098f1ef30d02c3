// Liveness answers at once; readiness measures each dependency in parallel, bounded by a timeout.
import { sql } from "drizzle-orm";
import { describeError } from "../../lib/logger.ts";
import { ApiError } from "../../lib/problem.ts";
import { rateLimiterState } from "../../lib/rate-limits.ts";
import { emailConfigured } from "../../services/email/send.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import type { DependencyCheck, LiveRoute, ReadyRoute } from "./health.routes.ts";
import type { z } from "@hono/zod-openapi";

type Check = z.infer<typeof DependencyCheck>;

class Timeout extends Error {}

async function measure(probe: () => Promise<unknown>, timeoutMs: number, onError: (error: unknown) => void): Promise<Check> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([probe(), timeout]);
    return { status: "up", latencyMs: elapsed(started) };
  } catch (error) {
    onError(error);
    const kind = error instanceof Timeout ? "timeout" : /fetch failed|connect|network/i.test(causeChain(error)) ? "unreachable" : "error";
    return { status: "down", latencyMs: elapsed(started), error: kind };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Drivers wrap the network failure (drizzle → NeonDbError → TypeError): read every message down the chain. */
function causeChain(error: unknown): string {
  const messages: string[] = [];
  for (let current = error; current; current = (current as { cause?: unknown }).cause) {
    messages.push(String(current));
    if (messages.length > 5) break;
  }
  return messages.join(" <- ");
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 10) / 10;

export const live: AppRouteHandler<LiveRoute> = (c) => {
  c.header("Cache-Control", "no-store");
  return c.json({ status: "ok" as const }, 200);
};

export const ready: AppRouteHandler<ReadyRoute> = async (c) => {
  const { db, redis } = c.get("services");
  const timeoutMs = c.get("config").HEALTH_CHECK_TIMEOUT_MS;
  const logger = c.get("logger");
  const log = (dependency: string) => (error: unknown) => logger.warn("dependency down", { dependency, ...describeError(error) });

  const [postgres, redisCheck] = await Promise.all([
    measure(() => db.execute(sql`SELECT 1`), timeoutMs, log("postgres")),
    measure(() => redis.ping(), timeoutMs, log("redis")),
  ]);
  const checks = { postgres, redis: redisCheck };
  const config = c.get("config");
  const rateLimiter = rateLimiterState(config);
  // Not a dependency that makes the API unready (the statistical engine answers), but an operator must see it.
  const model = config.OPENAI_API_KEY
    ? { status: "configured" as const, model: config.OPENAI_MODEL }
    : { status: "not_configured" as const, model: null };
  const email = { status: emailConfigured(config) ? ("configured" as const) : ("not_configured" as const) };
  c.header("Cache-Control", "no-store");
  const down = Object.entries(checks)
    .filter(([, check]) => check.status === "down")
    .map(([name]) => name);
  if (down.length > 0) {
    throw new ApiError(503, {
      code: "DEPENDENCY_UNAVAILABLE",
      detail: `Not ready: ${down.join(" and ")} ${down.length === 1 ? "is" : "are"} down.`,
      headers: { "Retry-After": "5" },
      extensions: { checks, rateLimiter, model, email },
    });
  }
  return c.json({ status: "ready" as const, checks, rateLimiter, model, email }, 200);
};
