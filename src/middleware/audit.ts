// The audit log: one row for every state-changing /api request (auth events included), queued after the response.
import { createMiddleware } from "hono/factory";
import { auditLogs } from "../db/schema.ts";
import { describeError } from "../lib/logger.ts";
import { clientIp } from "../lib/rate-limits.ts";
import { routePattern } from "../lib/route.ts";
import type { AppEnv, AppOpenAPI } from "../lib/types.ts";
import { waitUntil } from "../lib/wait-until.ts";
import { readsOnly } from "./auth.ts";

/** `POST /api/v1/orgs/:slug/api-keys` → `createApiKey`: the OpenAPI operation ids name the actions. */
function actionNames(app: AppOpenAPI): Map<string, string> {
  const names = new Map<string, string>();
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route" || !definition.route.operationId) continue;
    const path = definition.route.path.replaceAll(/\{(\w+)\}/g, ":$1");
    names.set(`${definition.route.method.toUpperCase()} ${path}`, definition.route.operationId);
  }
  return names;
}

/** The route's last parameter names what it acted on (`/orgs/:slug/members/:userId` → a member). */
function targetFromRoute(route: string | null, params: Record<string, string>): { type: string; id: string } | undefined {
  const match = route ? /\/([\w-]+)\/:(\w+)$/.exec(route) : null;
  const id = match ? params[match[2]!] : undefined;
  return match && id ? { type: match[1]!, id } : undefined;
}

export const audit = ({ app }: { app: AppOpenAPI }) => {
  let names: Map<string, string> | undefined;
  return createMiddleware<AppEnv>(async function audit(c, next) {
    const started = performance.now();
    await next();
    if (readsOnly(c.req.method, c.req.path)) return;

    names ??= actionNames(app);
    const route = routePattern(c);
    let params: Record<string, string> = {};
    try {
      params = c.req.param() as Record<string, string>;
    } catch {
      // no route matched: no params
    }
    const errorCode =
      c.res.status >= 400 && c.res.headers.get("Content-Type") === "application/problem+json"
        ? (((await c.res.clone().json()) as { code?: string }).code ?? null)
        : null;
    const principal = c.get("principal");
    const target = c.get("auditTarget") ?? targetFromRoute(route, params);
    const row: typeof auditLogs.$inferInsert = {
      id: crypto.randomUUID(),
      at: new Date(),
      requestId: c.get("requestId"),
      actorType: principal?.kind ?? "anonymous",
      actorId: principal?.userId ?? null,
      apiKeyId: principal?.kind === "api_key" ? principal.keyId : null,
      orgId: c.get("orgId") ?? (principal?.kind === "api_key" ? principal.orgId : null),
      action: (route && names.get(`${c.req.method} ${route}`)) ?? `${c.req.method} ${route ?? "unmatched"}`,
      targetType: target?.type ?? null,
      targetId: target?.id ?? null,
      method: c.req.method,
      // The pattern, never the raw path or query string: no ids of other people's things, no secrets in URLs.
      route,
      status: c.res.status,
      durationMs: Math.round(performance.now() - started),
      ip: clientIp(c) === "unknown" ? null : clientIp(c),
      userAgent: c.req.header("User-Agent")?.slice(0, 512) ?? null,
      errorCode,
    };
    const services = c.get("services");
    if (!services) return; // the configuration was refused: there is no database to write to
    const logger = c.get("logger");
    const insert = () =>
      services.unguardedDb
        .insert(auditLogs)
        .values(row)
        .execute()
        .catch((error: unknown) => logger.error("audit write failed", { action: row.action, ...describeError(error) }));
    // Through the audit queue, whose consumer writes many rows in one insert; straight to Postgres if the queue refuses it.
    waitUntil(
      c,
      c
        .get("config")
        .AUDIT_QUEUE.send(row, { contentType: "json" })
        .catch((error: unknown) => {
          logger.warn("audit queue unavailable; writing the row directly", { action: row.action, ...describeError(error) });
          return insert();
        }),
    );
  });
};
