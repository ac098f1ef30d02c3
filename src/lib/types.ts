// The app's Hono environment: bindings and the typed per-request variables every handler can read.
import type { OpenAPIHono, RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Database } from "../db/client.ts";
import type { ApiKeyScope, Tier } from "../db/schema.ts";
import type { Config } from "../env.ts";
import type { Logger } from "./logger.ts";
import type { PendingUsage } from "../services/usage/record.ts";
import type { Outcome } from "./rate-limits.ts";
import type { TraceContext } from "./trace-context.ts";

/** Who is calling: a person (own session or external IdP) or an organization's API key. */
export type Principal =
  | { kind: "user"; userId: string; tier: Tier; sessionId: string | null; via: "password" | "oidc" }
  | { kind: "api_key"; userId: string; keyId: string; orgId: string; tier: Tier; scopes: ApiKeyScope[] };

/** An access token whose signature is checked but whose session is not yet (guarded() checks it). */
export interface PendingSession {
  userId: string;
  sessionId: string;
}

/** Clients for one request, created on first use so routes that need no I/O pay nothing. */
export interface Services {
  /** Refuses to run while the caller's session is unchecked: the first query must go through guarded(). */
  readonly db: Database;
  /** The same client without that rule: for the guard itself (guarded() hands it to its batch), public routes whose caller
   *  may carry a token nobody needs checked, and audit rows written after the response. */
  readonly unguardedDb: Database;
  readonly redis: Redis;
}

export interface AppVariables {
  requestId: string;
  /** W3C trace context: the client's trace continued (or a new one), forwarded on outgoing calls. */
  trace: TraceContext;
  /** The problem code of an error response, for the request log. */
  problemCode?: string;
  config: Config;
  logger: Logger;
  services: Services;
  /** Set by authentication, read by the request log. */
  userId?: string;
  principal?: Principal;
  /** An access token whose session is not yet checked: guarded() checks it with the route's first query. */
  pendingSession?: PendingSession;
  /** The organization a request acted in (set by requireOrg), for the audit log. */
  orgId?: string;
  /** The rate-limit buckets this request spent from, in order: all of them go in RateLimit and RateLimit-Policy. */
  rateLimits?: Outcome[];
  /** The usage this request has counted so far (src/middleware/usage.ts). */
  usage?: PendingUsage;
  /** What a request acted on, when the route's params do not say (e.g. what a POST created). */
  auditTarget?: { type: string; id: string };
}

export interface AppEnv {
  Bindings: Cloudflare.Env;
  Variables: AppVariables;
}

export type AppOpenAPI = OpenAPIHono<AppEnv>;
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
