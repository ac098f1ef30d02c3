// One structured JSON line per request: method, route pattern, status, problem code, duration, request id, trace id, user.
import { createMiddleware } from "hono/factory";
import { loadConfig } from "../env.ts";
import { createLogger } from "../lib/logger.ts";
import { routePattern } from "../lib/route.ts";
import { traceContext } from "../lib/trace-context.ts";
import type { AppEnv } from "../lib/types.ts";

export const requestLog = () =>
  createMiddleware<AppEnv>(async function requestLog(c, next) {
    const started = performance.now();
    const trace = traceContext(c.req.header("traceparent"));
    c.set("trace", trace);
    const loaded = loadConfig(c.env);
    const logger = createLogger(loaded.ok ? loaded.config.LOG_LEVEL : "info", { requestId: c.get("requestId"), traceId: trace.traceId });
    c.set("logger", logger);
    await next();
    const status = c.res.status;
    const fields = {
      method: c.req.method,
      route: routePattern(c),
      status,
      ...(c.get("problemCode") ? { code: c.get("problemCode") } : {}),
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      userId: c.get("userId") ?? null,
    };
    if (status >= 500) logger.error("request", fields);
    else logger.info("request", fields);
  });
