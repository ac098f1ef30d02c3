// The OpenAPI 3.1 document generated from the route schemas, and the Scalar reference that reads it, served whole by this
// Worker (the installed, pinned bundle: no CDN, no external fonts) under a Content-Security-Policy of its own.
import { Scalar } from "@scalar/hono-api-reference";
import { NONCE, secureHeaders } from "hono/secure-headers";
import scalarPackage from "../../../node_modules/@scalar/api-reference/package.json";
import { type ErrorStatus, problemResponses } from "../../lib/openapi.ts";
import type { AppEnv, AppOpenAPI } from "../../lib/types.ts";
import { type OpenAPIDocument, openApiDocument } from "./docs.document.ts";

/**
 * The installed Scalar bundle (a Text module through wrangler.toml's [[rules]]), imported on first use: a Node script that
 * imports the app to print its document (dev/openapi-document.ts) never loads what only the Worker's bundler can import.
 */
const scalarBundle = async () => (await import("../../../node_modules/@scalar/api-reference/dist/browser/standalone.js")).default as string;

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

/** The installed Scalar bundle, at a path that changes with its version. */
export const SCALAR_BUNDLE_PATH = `/docs/scalar-${scalarPackage.version}.js`;

/**
 * Only this Worker's scripts run: the bundle, and the page's start-up script with the response's nonce. Styles are
 * looser: Scalar's components add <style> elements and style attributes of their own, without the nonce, so style-src
 * allows inline styles (CSS cannot run script; the rest of the policy stays strict).
 */
const docsCsp = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'", NONCE],
    styleSrc: ["'self'", "'unsafe-inline'"],
    connectSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    fontSrc: ["'self'", "data:"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
  crossOriginResourcePolicy: "cross-origin",
});

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
  app.get(SCALAR_BUNDLE_PATH, async (c) => {
    // The path names the version, so a browser may keep it for good.
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    return c.body(await scalarBundle(), 200, { "Content-Type": "text/javascript; charset=utf-8" });
  });
  app.get(
    "/docs",
    docsCsp,
    Scalar<AppEnv>((c) => ({
      url: "/openapi.json",
      pageTitle: "Datacrafted API reference",
      // No request for /favicon.ico (which has no route here).
      favicon: "data:,",
      cdn: SCALAR_BUNDLE_PATH,
      nonce: c.get("secureHeadersNonce") ?? "",
      // Nothing that leaves this origin: no fonts from Scalar's CDN, no telemetry, and none of the hosted
      // (cloud, "deploy", agent, MCP) features or the developer toolbar that offers them.
      withDefaultFonts: false,
      telemetry: false,
      showDeveloperTools: "never",
      showToolbar: "never",
      hideClientButton: true,
      agent: { disabled: true },
      mcp: { disabled: true },
    })),
  );
}
