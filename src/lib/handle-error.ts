// Every error path ends here as problem+json: thrown ApiErrors, Hono's HTTPExceptions, zod failures, 404 and the unexpected.
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { unavailableDependency } from "./dependency-errors.ts";
import { describeError, type Logger } from "./logger.ts";
import { ApiError, type FieldError, problemResponse } from "./problem.ts";
import type { AppEnv } from "./types.ts";

/**
 * Any error as the ApiError the client should see: thrown ApiErrors as they are, Hono's
 * HTTPExceptions by their status, a dependency outage as a 503 to retry, anything else as a 500
 * that names only the request id (the cause goes to the log). Also used where an error ends a
 * stream or a job rather than a response (analyses, chat).
 */
export function toApiError(error: unknown, logger: Logger | undefined, requestId: string | undefined): ApiError {
  if (error instanceof ApiError) {
    // A deliberate 5xx says what it needs to; only an underlying cause is worth a log line of its own.
    if (error.status >= 500 && error.cause) logger?.error("request failed", { code: error.code, ...describeError(error.cause) });
    return error;
  }
  if (error instanceof HTTPException) {
    // Raised by Hono's own validators and middleware, e.g. malformed JSON or an undeclared media type.
    const malformedJson = error.status === 400 && /json/i.test(error.message);
    return new ApiError(error.status as ContentfulStatusCode, {
      code: malformedJson ? "INVALID_JSON" : undefined,
      detail: malformedJson ? "The request body is not valid JSON." : error.message || "The request could not be processed.",
    });
  }
  const dependency = unavailableDependency(error);
  if (dependency) {
    logger?.warn("dependency unavailable", { dependency, ...describeError(error) });
    return new ApiError(503, {
      code: "DEPENDENCY_UNAVAILABLE",
      detail: `${dependency === "postgres" ? "The database" : dependency === "redis" ? "The cache" : "A service this API depends on"} is unavailable right now; retry shortly.`,
      headers: { "Retry-After": "5" },
    });
  }
  // Anything else is our bug: the client gets the request id, the log gets the cause.
  if (logger) logger.error("unhandled error", describeError(error));
  else console.error(JSON.stringify({ level: "error", message: "unhandled error", ...describeError(error) }));
  return new ApiError(500, { detail: `An unexpected error occurred. Quote request id ${requestId ?? "unknown"} when reporting it.` });
}

export const handleError: ErrorHandler<AppEnv> = (error, c) => problemResponse(c, toApiError(error, c.get("logger"), c.get("requestId")));

export const handleNotFound: NotFoundHandler<AppEnv> = (c) =>
  problemResponse(c, new ApiError(404, { detail: `No route matches ${c.req.method} ${new URL(c.req.url).pathname}.` }));

export function methodNotAllowedResponse(c: Context, methods: string[]): Response {
  const allow = methods.join(", ");
  return problemResponse(
    c,
    new ApiError(405, { detail: `${c.req.method} is not allowed on ${c.req.path}; use ${allow}.`, headers: { Allow: allow } }),
  );
}

const target = (issuePath: PropertyKey[], where: string) => [where, ...issuePath.map(String)].join(".");

/** The default hook of every route: a zod failure becomes 400 with one entry per invalid field. */
export function validationHook(result: { success: true } | { success: false; error: z.ZodError; target: string }) {
  if (result.success) return;
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    path: target(issue.path, result.target === "json" ? "body" : result.target),
    message: issue.message,
  }));
  throw new ApiError(400, {
    code: "VALIDATION_FAILED",
    detail: `The request has ${errors.length} invalid field${errors.length === 1 ? "" : "s"}.`,
    errors,
  });
}
