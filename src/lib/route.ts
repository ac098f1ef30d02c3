// The route pattern that answered a request, for logs and the audit trail.
import type { Context } from "hono";
import { matchedRoutes } from "hono/route";

/**
 * `/api/v1/orgs/:slug`, not `/api/v1/orgs/acme`: ids stay out and lines stay groupable. The
 * handler is the last matched route with a method (middleware is registered for ALL); null when
 * no route matched.
 */
export function routePattern(c: Context): string | null {
  return (
    matchedRoutes(c)
      .filter((route) => route.method !== "ALL")
      .at(-1)?.path ?? null
  );
}
