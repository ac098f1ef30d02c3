// The tier limit on every /api call: per user, per API key, or per client IP when anonymous.
import { createMiddleware } from "hono/factory";
import { clientIp, consume, enforce } from "../lib/rate-limits.ts";
import type { AppEnv } from "../lib/types.ts";

export const rateLimit = () =>
  createMiddleware<AppEnv>(async function rateLimit(c, next) {
    const principal = c.get("principal");
    const [tier, identifier] = !principal
      ? (["free", `ip:${clientIp(c)}`] as const)
      : principal.kind === "api_key"
        ? ([principal.tier, `key:${principal.keyId}`] as const)
        : ([principal.tier, `user:${principal.userId}`] as const);
    enforce(c, await consume(c, tier, identifier));
    await next();
  });
