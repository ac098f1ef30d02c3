// Shared OpenAPI pieces: the problem+json responses every route spreads into its own.
import type { z } from "@hono/zod-openapi";
import { Problem } from "./problem.ts";

/** The contract's version: the document's `info.version` and every response's API-Version header. */
export const API_VERSION = "1";

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

const descriptions = {
  400: "Invalid input: `errors` lists each field",
  401: "Missing or invalid credentials",
  402: "The organization's monthly LLM budget is spent (`BUDGET_EXHAUSTED`): `resetsAt` and Retry-After say when it renews; the statistical engine still answers",
  403: "Authenticated, but not allowed",
  404: "No such resource (or not yours)",
  405: "Method not allowed on this path",
  409: "Conflict with the current state",
  410: "Gone for good (past the retention window)",
  412: "If-Match did not match",
  413: "Request body too large",
  415: "Unsupported Content-Type",
  422: "Semantically invalid request",
  429: "Rate limit exceeded",
  500: "Unexpected error (quote the request id)",
  502: "An upstream (the model, or an external data source) failed or answered unusably",
  503: "A dependency is unavailable",
  504: "An upstream (the model, or an external data source) did not answer in time",
} as const;

export type ErrorStatus = keyof typeof descriptions;

/** `...problemResponses(400, 404)` in a route's `responses`: each documented as problem+json. */
export function problemResponses<S extends ErrorStatus>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [status, { description: descriptions[status], content: { "application/problem+json": { schema: Problem } } }]),
  ) as unknown as Record<S, { description: string; content: { "application/problem+json": { schema: typeof Problem } } }>;
}
