// Secrets and optional variables: `wrangler types` sees only [vars], so these are declared here.
declare namespace Cloudflare {
  interface Env {
    ALLOWED_ORIGINS?: string;
    DATABASE_URL: string;
    NEON_FETCH_ENDPOINT?: string;
    UPSTASH_REDIS_REST_URL: string;
    UPSTASH_REDIS_REST_TOKEN: string;
    HEALTH_CHECK_TIMEOUT_MS?: string;
    DOCS_SCRIPT_URL?: string;
    AUTH_JWT_KEYS: string;
    AUTH_ISSUER?: string;
    AUTH_AUDIENCE?: string;
    ACCESS_TOKEN_TTL_SECONDS?: string;
    REFRESH_TOKEN_TTL_DAYS?: string;
    OIDC_JWKS_URL?: string;
    OIDC_ISSUER?: string;
    OIDC_AUDIENCE?: string;
    RATE_LIMIT_ENABLED?: string;
    RETENTION_DAYS?: string;
    MAX_UPLOAD_BYTES?: string;
    MAX_ROWS?: string;
    MAX_COLUMNS?: string;
    MAX_JSON_DEPTH?: string;
    RATE_LIMIT_FREE?: string;
    RATE_LIMIT_PRO?: string;
    RATE_LIMIT_ENTERPRISE?: string;
    RATE_LIMIT_LLM?: string;
    RATE_LIMIT_FAIL_MODE?: string;
    RATE_LIMIT_TIMEOUT_MS?: string;
    DATA_SOURCE_KEYS: string;
    DATA_SOURCE_TIMEOUT_MS?: string;
    DATA_SOURCE_MAX_RESULT_BYTES?: string;
    DATA_SOURCE_IMPORT_MAX_ROWS?: string;
  }
}
