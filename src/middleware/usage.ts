// Usage of each /api request: one count for the organization it acted in, sent with whatever else it used, after the response.
import { createMiddleware } from "hono/factory";
import { type PendingUsage, sendUsage } from "../services/usage/record.ts";
import type { AppEnv } from "../lib/types.ts";
import { waitUntil } from "../lib/wait-until.ts";

export const usage = () =>
  createMiddleware<AppEnv>(async function usage(c, next) {
    const pending: PendingUsage = { counts: {}, sent: false };
    c.set("usage", pending);
    try {
      await next();
    } finally {
      const orgId = c.get("orgId");
      const config = c.get("config");
      // No organization (sign-in, /me, another tenant's 404) or no configuration: nothing to count against.
      if (orgId && config && c.get("services")) {
        pending.sent = true;
        waitUntil(c, sendUsage(config, c.get("logger"), orgId, { ...pending.counts, requests: (pending.counts.requests ?? 0) + 1 }));
      }
    }
  });
