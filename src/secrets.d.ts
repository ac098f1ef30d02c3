// Secrets and optional variables: `wrangler types` sees only [vars], so these are declared here.
declare namespace Cloudflare {
  interface Env {
    DATABASE_URL: string;
    NEON_FETCH_ENDPOINT?: string;
    UPSTASH_REDIS_REST_URL: string;
    UPSTASH_REDIS_REST_TOKEN: string;
    HEALTH_CHECK_TIMEOUT_MS?: string;
    DOCS_SCRIPT_URL?: string;
  }
}
