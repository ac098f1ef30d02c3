// Per-request clients (Postgres, Redis) built from the validated config on first use.
import { createMiddleware } from "hono/factory";
import { createDb, type Database } from "../db/client.ts";
import { createRedis } from "../lib/redis.ts";
import type { AppEnv, Services } from "../lib/types.ts";
import type { Redis } from "@upstash/redis/cloudflare";

export const services = () =>
  createMiddleware<AppEnv>(async function services(c, next) {
    const config = c.get("config");
    let db: Database | undefined;
    let redis: Redis | undefined;
    const lazy: Services = {
      get db() {
        if (c.get("pendingSession")) {
          throw new Error("The caller's session is unchecked: run the route's first query through guarded() (src/lib/session-guard.ts).");
        }
        return (db ??= createDb(config));
      },
      get unguardedDb() {
        return (db ??= createDb(config));
      },
      get redis() {
        return (redis ??= createRedis(config));
      },
    };
    c.set("services", lazy);
    await next();
  });
