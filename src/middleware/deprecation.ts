// Old unversioned paths answer as their /api/v1 successors, marked with Deprecation, Sunset and a successor link (by path, or by a session id in the body).
import { createMiddleware } from "hono/factory";
import { getPathNoStrict } from "hono/utils/url";
import { z } from "@hono/zod-openapi";
import { ApiError } from "../lib/problem.ts";
import type { AppEnv, AppOpenAPI } from "../lib/types.ts";
import { authenticate } from "./auth.ts";

export interface DeprecatedAlias {
  /** The old path prefix, e.g. `/api/projects`. */
  from: string;
  /** Its successor prefix, e.g. `/api/v1/projects`. */
  to: string;
  deprecatedAt: Date;
  sunset: Date;
}

/** The old Datacrafted paths whose successors keep the same shape. */
export const deprecatedAliases: DeprecatedAlias[] = [
  {
    from: "/api/projects",
    to: "/api/v1/projects",
    deprecatedAt: new Date("2026-11-01T00:00:00Z"),
    sunset: new Date("2027-06-30T00:00:00Z"),
  },
  {
    from: "/api/sessions",
    to: "/api/v1/sessions",
    deprecatedAt: new Date("2026-11-01T00:00:00Z"),
    sunset: new Date("2027-06-30T00:00:00Z"),
  },
];

function findAlias(path: string, aliases: DeprecatedAlias[]) {
  return aliases.find((alias) => path === alias.from || path.startsWith(`${alias.from}/`));
}

const successor = (path: string, alias: DeprecatedAlias) => alias.to + path.slice(alias.from.length);

/**
 * The router's path resolver (Hono's `getPath` option): an aliased path routes as its successor.
 * `c.req.path` then shows the successor; `new URL(c.req.url).pathname` keeps what the client sent.
 */
export function aliasingGetPath(aliases: DeprecatedAlias[]) {
  return (request: Request): string => {
    // Not strict: `/health/` routes as `/health`, as the routers (strict: false) expect.
    const path = getPathNoStrict(request);
    const alias = findAlias(path, aliases);
    return alias ? successor(path, alias) : path;
  };
}

/** Marks responses to aliased paths: RFC 9745 `Deprecation`, RFC 8594 `Sunset`, and the successor link. */
export const deprecation = (aliases: DeprecatedAlias[]) =>
  createMiddleware(async function deprecation(c, next) {
    const sent = new URL(c.req.url).pathname;
    const alias = findAlias(sent, aliases);
    if (alias) {
      c.header("Deprecation", `@${Math.floor(alias.deprecatedAt.getTime() / 1000)}`);
      c.header("Sunset", alias.sunset.toUTCString());
      c.header("Link", `<${successor(sent, alias)}>; rel="successor-version"`);
    }
    await next();
  });

/** An old path whose successor's path comes from the request body (`POST /api/chat` → `/api/v1/sessions/{sessionId}/chat`). */
export interface BodyAlias {
  from: string;
  /** The successor path and body for a valid old body. */
  successor: (body: Record<string, unknown>) => { path: string; body: Record<string, unknown> };
  /** The old body; unknown fields are ignored, as the old API did. */
  schema: z.ZodType<Record<string, unknown>>;
  deprecatedAt: Date;
  sunset: Date;
}

const SessionId = z.uuid();

/** The old Datacrafted paths that named their session in the body. */
export const bodyAliases: BodyAlias[] = [
  {
    from: "/api/analyze",
    schema: z.object({ sessionId: SessionId, question: z.string().optional(), engine: z.string().optional() }),
    successor: ({ sessionId, ...rest }) => ({ path: `/api/v1/sessions/${sessionId}/analyses`, body: rest }),
    deprecatedAt: new Date("2026-11-01T00:00:00Z"),
    sunset: new Date("2027-06-30T00:00:00Z"),
  },
  {
    from: "/api/chat",
    schema: z.object({ sessionId: SessionId, message: z.string(), engine: z.string().optional() }),
    successor: ({ sessionId, ...rest }) => ({ path: `/api/v1/sessions/${sessionId}/chat`, body: rest }),
    deprecatedAt: new Date("2026-11-01T00:00:00Z"),
    sunset: new Date("2027-06-30T00:00:00Z"),
  },
];

/** Request headers the successor sees as the client sent them (Idempotency-Key stays with the old request, which holds it). */
const forwarded = ["Authorization", "Accept", "Accept-Language", "Prefer", "User-Agent", "Origin", "CF-Connecting-IP"];

/**
 * Handlers for `alias`: Deprecation and Sunset on every answer (set first, so errors carry them too),
 * then a body check (400 problem), then the successor request through `app` (the whole pipeline:
 * auth, limits and audit apply as to any call of the successor), answered with the successor link.
 *
 * @example
 * for (const alias of bodyAliases) app.post(alias.from, ...bodyAliasHandlers(alias, app));
 */
export function bodyAliasHandlers(alias: BodyAlias, app: Pick<AppOpenAPI, "fetch">) {
  const mark = createMiddleware<AppEnv>(async function markDeprecated(c, next) {
    c.header("Deprecation", `@${Math.floor(alias.deprecatedAt.getTime() / 1000)}`);
    c.header("Sunset", alias.sunset.toUTCString());
    await next();
  });
  const redispatch = createMiddleware<AppEnv>(async function redispatch(c) {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      throw new ApiError(400, { code: "INVALID_JSON", detail: "The request body is not valid JSON." });
    }
    const parsed = alias.schema.safeParse(raw);
    if (!parsed.success) {
      throw new ApiError(400, {
        code: "VALIDATION_FAILED",
        detail: "The request body is invalid.",
        errors: parsed.error.issues.map((issue) => ({ path: ["body", ...issue.path.map(String)].join("."), message: issue.message })),
      });
    }
    const next = alias.successor(parsed.data);
    const headers = new Headers({ "Content-Type": "application/json", "X-Request-ID": c.get("requestId") });
    for (const name of forwarded) {
      const value = c.req.header(name);
      if (value !== undefined) headers.set(name, value);
    }
    const url = new URL(next.path, c.req.url);
    const answer = await app.fetch(new Request(url, { method: "POST", headers, body: JSON.stringify(next.body) }), c.env, c.executionCtx);
    const response = new Response(answer.body, answer);
    // The successor's CORS pass said `Vary: Origin`; this request's own pass says it again on the way out.
    const vary = response.headers
      .get("Vary")
      ?.split(",")
      .map((name) => name.trim())
      .filter((name) => name && name.toLowerCase() !== "origin");
    if (vary?.length) response.headers.set("Vary", vary.join(", "));
    else response.headers.delete("Vary");
    response.headers.set("Deprecation", `@${Math.floor(alias.deprecatedAt.getTime() / 1000)}`);
    response.headers.set("Sunset", alias.sunset.toUTCString());
    response.headers.set("Link", `<${next.path}>; rel="successor-version"`);
    return response;
  });
  return [mark, authenticate(), redispatch] as const;
}
