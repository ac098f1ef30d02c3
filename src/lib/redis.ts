// The Upstash Redis client for one request (REST over fetch; built per request from env, never at module scope).
import { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../env.ts";

export function createRedis(config: Pick<Config, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN">): Redis {
  return new Redis({
    url: config.UPSTASH_REDIS_REST_URL,
    token: config.UPSTASH_REDIS_REST_TOKEN,
    // A request must not hang on a dead Redis: two quick retries, then the caller decides.
    retry: { retries: 2, backoff: (attempt) => 25 * 2 ** attempt },
    enableTelemetry: false,
  });
}
