// The OpenAPI 3.1 document generated from the route schemas, and the Scalar reference that reads it.
import { Scalar } from "@scalar/hono-api-reference";
import { type ErrorStatus, problemResponses } from "../../lib/openapi.ts";
import type { AppEnv, AppOpenAPI } from "../../lib/types.ts";
import { type OpenAPIDocument, openApiDocument } from "./docs.document.ts";

/**
 * Answers the shared middleware can give on any /api operation, added to each one's documented
 * responses (those it declares itself win): a bad or missing credential, the rate limiter, an
 * outage, our own failure; and for a request with a body, its size and media type and a reused
 * Idempotency-Key.
 */
function documentPipelineResponses(app: AppOpenAPI) {
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route" || !definition.route.path.startsWith("/api/")) continue;
    const route = definition.route;
    const statuses: ErrorStatus[] = [429, 500, 503];
    if (route.security?.length) statuses.push(401);
    if (route.request?.body) statuses.push(413, 415);
    // Idempotency-Key (POST and PATCH): reused with another request 422, while the first is in flight 409.
    if (route.method === "post" || route.method === "patch") statuses.push(409, 422);
    route.responses = { ...problemResponses(...statuses), ...route.responses };
  }
}

export function mountDocs(app: AppOpenAPI) {
  documentPipelineResponses(app);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An access token from /api/v1/auth/signin, a token of the configured OpenID Connect provider, or an API key (`dck_…`).",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "streamTicket", {
    type: "apiKey",
    in: "query",
    name: "ticket",
    description: "A single-use stream ticket (`POST /api/v1/sessions/{id}/events/ticket`), for EventSource, on the events stream only.",
  });
  // Built once per origin and isolate: the routes do not change while it lives.
  const documents = new Map<string, OpenAPIDocument>();
  app.get("/openapi.json", (c) => {
    const origin = new URL(c.req.url).origin;
    if (!documents.has(origin)) documents.set(origin, openApiDocument(app, origin));
    return c.json(documents.get(origin));
  });
  app.get(
    "/docs",
    Scalar<AppEnv>((c) => {
      const script = c.get("config").DOCS_SCRIPT_URL;
      return { url: "/openapi.json", pageTitle: "Datacrafted API reference", ...(script ? { cdn: script } : {}) };
    }),
  );
}
