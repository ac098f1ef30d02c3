// Builds routers and the app: the whole request pipeline, in order, in one place.
import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { analytics } from "../middleware/analytics.ts";
import { apiVersion } from "../middleware/api-version.ts";
import { audit } from "../middleware/audit.ts";
import { authenticate } from "../middleware/auth.ts";
import { idempotency } from "../middleware/idempotency.ts";
import { listEtag } from "../middleware/list-etag.ts";
import { rateLimit } from "../middleware/rate-limit.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { config } from "../middleware/config.ts";
import {
  aliasingGetPath,
  bodyAliasHandlers,
  bodyAliases,
  type DeprecatedAlias,
  deprecatedAliases,
  deprecation,
} from "../middleware/deprecation.ts";
import { requestLog } from "../middleware/request-log.ts";
import { services } from "../middleware/services.ts";
import { tusOptions } from "../middleware/tus-options.ts";
import { usage } from "../middleware/usage.ts";
import { handleError, handleNotFound, methodNotAllowedResponse, validationHook } from "./handle-error.ts";
import type { AppEnv, AppOpenAPI } from "./types.ts";

/** A router for one resource; its routes validate with the shared problem+json hook. */
export function createRouter(): AppOpenAPI {
  return new OpenAPIHono<AppEnv>({ strict: false, defaultHook: validationHook });
}

/**
 * Spread into every protected `createRoute`: the document names the bearer scheme and the route itself
 * requires credentials, so the two cannot disagree. (The pipeline has already identified a caller who
 * sent any; this refuses the request when none was sent.) Public routes declare `security: []`.
 */
export const authed = {
  security: [{ bearerAuth: [] as string[] }],
  middleware: [authenticate()],
};

/** Headers a browser client may read: tracing, versioning, pagination, caching, limits. */
const exposedHeaders = [
  "X-Request-ID",
  "API-Version",
  "Deprecation",
  "Sunset",
  "Link",
  "Location",
  "ETag",
  "Retry-After",
  "RateLimit",
  "RateLimit-Policy",
  "Idempotent-Replayed",
  "Content-Disposition",
  // tus (src/routes/uploads): a browser's tus client reads these.
  "Tus-Resumable",
  "Tus-Version",
  "Tus-Extension",
  "Tus-Max-Size",
  "Upload-Offset",
  "Upload-Length",
  "Upload-Metadata",
  "Upload-Expires",
];

/** The app with every middleware in order; routes are mounted on it by `src/app.ts` (or a test). */
export function createApp({ aliases = deprecatedAliases }: { aliases?: DeprecatedAlias[] } = {}): AppOpenAPI {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook, getPath: aliasingGetPath(aliases) });

  app.use(requestId({ headerName: "X-Request-ID", limitLength: 128 }));
  app.use(apiVersion());
  app.use(requestLog());
  app.use(analytics());
  app.use(secureHeaders({ crossOriginResourcePolicy: "cross-origin" }));
  app.use(config());
  app.use(tusOptions());
  app.use(
    cors({
      origin: (origin, c) => {
        const allowed = c.get("config").ALLOWED_ORIGINS;
        return allowed.includes("*") || allowed.includes(origin) ? origin : null;
      },
      allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      allowHeaders: [
        "Authorization",
        "Content-Type",
        "Idempotency-Key",
        "If-Match",
        "If-None-Match",
        "Last-Event-ID",
        "Prefer",
        "X-Request-ID",
        "Tus-Resumable",
        "Upload-Length",
        "Upload-Offset",
        "Upload-Metadata",
        "Upload-Defer-Length",
      ],
      exposeHeaders: exposedHeaders,
      maxAge: 600,
    }),
  );
  app.use(deprecation(aliases));
  app.use(services());
  app.use(bodyLimit());
  // Old paths that named their session in the body: re-dispatched to their successors before the /api
  // middleware, so the successor alone is authenticated, limited and audited (once, not twice).
  for (const alias of bodyAliases) app.post(alias.from, ...bodyAliasHandlers(alias, app));
  app.use("/api/*", audit({ app }));
  app.use("/api/*", usage());
  app.use("/api/*", authenticate({ optional: true }));
  app.use("/api/*", rateLimit());
  app.use("/api/*", idempotency());
  app.use("/api/*", listEtag());
  app.use(methodNotAllowed({ app, onMethodNotAllowed: methodNotAllowedResponse }));

  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
