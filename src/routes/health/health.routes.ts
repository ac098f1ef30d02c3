// Route definitions for liveness and readiness.
import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "../../lib/openapi.ts";

export const DependencyCheck = z
  .object({
    status: z.enum(["up", "down"]),
    latencyMs: z.number().openapi({ example: 3.2 }),
    error: z.enum(["timeout", "unreachable", "error"]).optional().openapi({ description: "Why it is down (details are in the log)" }),
  })
  .openapi("DependencyCheck");

export const RateLimiterState = z
  .object({
    failMode: z
      .enum(["open", "closed"])
      .openapi({ description: "What happens to requests while Redis cannot count them (RATE_LIMIT_FAIL_MODE)" }),
    status: z
      .enum(["ok", "degraded", "disabled"])
      .openapi({ description: "Degraded since the last failed check in this instance; disabled by RATE_LIMIT_ENABLED=false" }),
    since: z.string().nullable(),
  })
  .openapi("RateLimiterState");

export const ModelState = z
  .object({
    status: z.enum(["configured", "not_configured"]).openapi({
      description:
        "Whether OPENAI_API_KEY is set. Not configured, analyses and chat answer with the statistical engine (a deployment without the secret does so silently otherwise).",
    }),
    model: z.string().nullable().openapi({ description: "OPENAI_MODEL when configured", example: "gpt-4o-mini" }),
  })
  .openapi("ModelState");

export const EmailState = z
  .object({
    status: z.enum(["configured", "not_configured"]).openapi({
      description:
        "not_configured: EMAIL_API_URL is unset, so no verification or invitation mail is sent (sign-up still works). " +
        "Not a readiness failure.",
    }),
  })
  .openapi("EmailState");

export const Readiness = z
  .object({
    status: z.literal("ready"),
    checks: z.object({ postgres: DependencyCheck, redis: DependencyCheck }),
    rateLimiter: RateLimiterState,
    model: ModelState,

    email: EmailState,
  })
  .openapi("Readiness");

export const live = createRoute({
  method: "get",
  path: "/health",
  security: [],
  operationId: "getLiveness",
  tags: ["Health"],
  summary: "Liveness: the Worker answers (no I/O)",
  responses: {
    200: { description: "Alive", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } },
    ...problemResponses(500),
  },
});

export const ready = createRoute({
  method: "get",
  path: "/health/ready",
  security: [],
  operationId: "getReadiness",
  tags: ["Health"],
  summary: "Readiness: Postgres and Redis answer",
  description:
    "Runs `SELECT 1` on Postgres and `PING` on Redis, each with a timeout. 503 names what is down and carries the same `checks`.",
  responses: {
    200: { description: "Every dependency is up", content: { "application/json": { schema: Readiness } } },
    ...problemResponses(500, 503),
  },
});

export type LiveRoute = typeof live;
export type ReadyRoute = typeof ready;
