// One zod schema for every variable and secret the Worker reads; an unsafe value fails closed.
import { z } from "zod";
import { JSON_DEPTH_CEILING } from "./services/datasets/parsers.ts";
import { parseDataSourceKeys } from "./services/data-sources/secrets.ts";
import { createLogger } from "./lib/logger.ts";
import type { SourceConnection } from "./durable-objects/source-connection/source-connection.ts";

/** Values copied from docs and examples: a deployment using one has not been configured. */
const placeholders = [/replace[-_ ]?(me|with)/i, /^changeme$/i, /^example/i, /^(secret|password|test)$/i, /your[-_]/i];
const notPlaceholder = (value: string) => !placeholders.some((pattern) => pattern.test(value));

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/[^/\s]+\/\S+$/, "must be a postgres:// connection string naming a database")
  .refine((value) => notPlaceholder(new URL(value).password), "has a placeholder password");

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** `kid:secret[,kid:secret…]`: the first key signs, all of them verify (rotation without logging anyone out). */
const signingKeys = z.string().transform((value, ctx) => {
  const keys = value
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.indexOf(":");
      return { kid: entry.slice(0, at), secret: entry.slice(at + 1) };
    });
  if (keys.length === 0) ctx.addIssue({ code: "custom", message: "needs at least one kid:secret" });
  for (const [i, key] of keys.entries()) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(key.kid))
      ctx.addIssue({ code: "custom", message: `key ${i + 1} needs a kid of letters, digits, . _ -` });
    if (key.secret.length < 32) ctx.addIssue({ code: "custom", message: `key ${i + 1} secret must be at least 32 characters` });
    else if (!notPlaceholder(key.secret)) ctx.addIssue({ code: "custom", message: `key ${i + 1} secret is a placeholder` });
  }
  return keys;
});

/** `kid:base64url-32-bytes[,…]`: the first encrypts data-source credentials, all decrypt. */
const dataSourceKeys = z.string().transform((value, ctx) => {
  const { keys, problems } = parseDataSourceKeys(value);
  if (!notPlaceholder(value)) problems.push("is a placeholder");
  for (const message of problems) ctx.addIssue({ code: "custom", message });
  return keys;
});

export const configSchema = z
  .object({
    ENVIRONMENT: z.enum(["development", "test", "production"]).default("production"),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
    DATABASE_URL: postgresUrl,
    NEON_FETCH_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    UPSTASH_REDIS_REST_URL: z.url({ protocol: /^https?$/ }),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(20, "must be at least 20 characters").refine(notPlaceholder, "is a placeholder"),
    ALLOWED_ORIGINS: z
      .string()
      .default("")
      .transform((value) =>
        value
          .split(",")
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.union([z.literal("*"), z.url({ protocol: /^https?$/ })]))),
    MAX_BODY_BYTES: positiveInt(1024 * 1024),
    HEALTH_CHECK_TIMEOUT_MS: positiveInt(2_000),
    AUTH_JWT_KEYS: signingKeys,
    AUTH_ISSUER: z.string().min(1).default("https://api.datacrafted.app"),
    AUTH_AUDIENCE: z.string().min(1).default("datacrafted-api"),
    ACCESS_TOKEN_TTL_SECONDS: positiveInt(900),
    REFRESH_TOKEN_TTL_DAYS: positiveInt(30),
    /** Dataset uploads: the largest file, and the most rows and columns it may have. */
    MAX_UPLOAD_BYTES: positiveInt(50 * 1024 * 1024),
    /** Resumable (tus) uploads: the largest file, and how long an unfinished one is kept before the cron aborts it. */
    MAX_RESUMABLE_UPLOAD_BYTES: positiveInt(5 * 1024 * 1024 * 1024),
    RESUMABLE_UPLOAD_EXPIRY_HOURS: positiveInt(24),
    /**
     * A big file's profile and its store load go in segments of about this many bytes, one queue message each, so no
     * invocation nears Workers' 30 s CPU default (the object's query backstop, so not raised).
     */
    INGEST_SEGMENT_BYTES: positiveInt(128 * 1024 * 1024),
    /** A resumable upload read in one job (anything but a UTF-8 CSV) may be at most this large: one job's CPU is bounded. */
    MAX_SINGLE_JOB_UPLOAD_BYTES: positiveInt(256 * 1024 * 1024),
    MAX_ROWS: positiveInt(1_000_000),
    MAX_COLUMNS: positiveInt(1_000),
    /** The parts an .xlsx upload reads (workbook, styles, shared strings, the sheet) may inflate to this many bytes in all: the zip bomb bound. */
    MAX_XLSX_INFLATED_BYTES: positiveInt(512 * 1024 * 1024),
    /** JSON and NDJSON uploads: how deep a row may nest (its object is level 1); deeper is a 422 JSON_TOO_DEEP. */
    MAX_JSON_DEPTH: z.coerce.number().int().min(2).max(JSON_DEPTH_CEILING).default(32),
    /** The R2 bucket of uploaded dataset files. */
    DATASETS: z.custom<R2Bucket>(
      (value) => typeof (value as R2Bucket | undefined)?.createMultipartUpload === "function",
      "must be an R2 bucket binding",
    ),
    /** Days a soft-deleted resource can be restored before the cron purges it. */
    RETENTION_DAYS: positiveInt(30),
    /** Days a data source's query history keeps an entry (its text and params) before the cron deletes it. */
    QUERY_HISTORY_DAYS: positiveInt(30),
    /** Off only to measure what limiting costs, or in an emergency: every limit stops being checked. */
    RATE_LIMIT_ENABLED: z
      .enum(["true", "false"])
      .default("true")
      .transform((value) => value === "true"),
    /** Requests a minute per tier, and LLM cost units a minute (src/lib/rate-limits.ts). */
    RATE_LIMIT_FREE: positiveInt(100),
    RATE_LIMIT_PRO: positiveInt(1_000),
    RATE_LIMIT_ENTERPRISE: positiveInt(10_000),
    RATE_LIMIT_LLM: positiveInt(60),
    /** LLM cost units (the `llm` bucket's, about one per thousand tokens) an organization may spend a month, by tier, unless it sets its own. */
    LLM_MONTHLY_BUDGET_FREE: positiveInt(2_000),
    LLM_MONTHLY_BUDGET_PRO: positiveInt(100_000),
    LLM_MONTHLY_BUDGET_ENTERPRISE: positiveInt(2_000_000),
    /** When Redis does not answer within RATE_LIMIT_TIMEOUT_MS: let requests through (open) or refuse them (closed). */
    RATE_LIMIT_FAIL_MODE: z.enum(["open", "closed"]).default("open"),
    RATE_LIMIT_TIMEOUT_MS: positiveInt(500),
    /** The model behind analyses and chat. With no key, the built-in statistical engine answers (labelled `engine: "statistical"`). */
    OPENAI_API_KEY: z.string().min(1).refine(notPlaceholder, "is a placeholder").optional(),
    /** An OpenAI-compatible endpoint (Azure, a gateway, the test stub); the SDK's default when unset. */
    OPENAI_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
    OPENAI_MODEL: z.string().min(1).default("gpt-4o-mini"),
    /** How long one model call may take inside a request, and inside a queue job. */
    OPENAI_TIMEOUT_MS: positiveInt(30_000),
    OPENAI_QUEUE_TIMEOUT_MS: positiveInt(120_000),
    /** Retries of retryable failures only (429, 5xx, timeouts, dropped connections), with the SDK's backoff. */
    OPENAI_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
    /** The circuit breaker: opens after this many consecutive failed calls, half-opens after the cool-down. */
    LLM_BREAKER_THRESHOLD: positiveInt(5),
    LLM_BREAKER_COOLDOWN_MS: positiveInt(30_000),
    /** Tool calls (query_dataset, chart) the model may make in one chat turn; past them it is asked to answer with what it has. */
    CHAT_MAX_TOOL_CALLS: z.coerce.number().int().min(0).max(20).default(4),
    /** Datasets larger than this are analysed by a queue job even when the client asked for a stream. */
    ANALYSIS_ASYNC_BYTES: positiveInt(20 * 1024 * 1024),
    /** How long an analysis waits for its dataset's store to be ready before it runs on the upload profile alone. */
    ANALYSIS_WAIT_FOR_STORE_MS: positiveInt(30_000),
    /** Seconds between SSE heartbeat comments. */
    SSE_HEARTBEAT_SECONDS: positiveInt(15),
    /** Queue jobs: the analysis queue's producer binding, and the session rooms (Durable Objects). */
    ANALYSIS_QUEUE: z.custom<Queue>((value) => typeof (value as Queue | undefined)?.send === "function", "must be a Queue binding"),
    /** Audit rows on their way to Postgres (src/queues/audit). */
    AUDIT_QUEUE: z.custom<Queue>((value) => typeof (value as Queue | undefined)?.send === "function", "must be a Queue binding"),
    /** Usage counts on their way to the daily rollups (src/queues/usage). */
    USAGE_QUEUE: z.custom<Queue>((value) => typeof (value as Queue | undefined)?.send === "function", "must be a Queue binding"),
    /** Workers Analytics Engine: one data point per request (src/middleware/analytics.ts); absent, nothing is written. */
    ANALYTICS: z
      .custom<AnalyticsEngineDataset>(
        (value) => typeof (value as AnalyticsEngineDataset | undefined)?.writeDataPoint === "function",
        "must be an Analytics Engine dataset binding",
      )
      .optional(),
    /** Dataset loads: the queue that fills each dataset's store, and the stores (src/durable-objects/dataset-store). */
    DATASET_LOAD_QUEUE: z.custom<Queue>((value) => typeof (value as Queue | undefined)?.send === "function", "must be a Queue binding"),
    /** Finished resumable uploads, profiled from R2 into a dataset (src/queues/dataset-ingest). */
    DATASET_INGEST_QUEUE: z.custom<Queue>((value) => typeof (value as Queue | undefined)?.send === "function", "must be a Queue binding"),
    /** Webhook events and delivery attempts (src/queues/webhooks). */
    WEBHOOK_QUEUE: z.custom<Queue>((value) => typeof (value as Queue | undefined)?.send === "function", "must be a Queue binding"),
    DATASET_STORES: z.custom<DurableObjectNamespace>(
      (value) => typeof (value as DurableObjectNamespace | undefined)?.idFromName === "function",
      "must be a Durable Object namespace binding",
    ),
    /** One SourceConnection per data source: its pool, breaker and metrics (src/durable-objects/source-connection). */
    SOURCE_CONNECTIONS: z.custom<DurableObjectNamespace<SourceConnection>>(
      (value) => typeof (value as DurableObjectNamespace | undefined)?.idFromName === "function",
      "must be a Durable Object namespace binding",
    ),
    SESSION_ROOMS: z.custom<DurableObjectNamespace>(
      (value) => typeof (value as DurableObjectNamespace | undefined)?.idFromName === "function",
      "must be a Durable Object namespace binding",
    ),
    /** Dataset stores (one Durable Object per dataset version) and the limits of one query there: rows, bytes of JSON, and time. */
    QUERY_MAX_ROWS: positiveInt(10_000),
    QUERY_MAX_BYTES: positiveInt(4 * 1024 * 1024),
    QUERY_TIMEOUT_MS: positiveInt(5_000),
    /** Data sources: credential keys, the time each outbound call may take, and the most a browse or query answers. */
    DATA_SOURCE_KEYS: dataSourceKeys,
    DATA_SOURCE_TIMEOUT_MS: positiveInt(5_000),
    DATA_SOURCE_MAX_RESULT_BYTES: positiveInt(4 * 1024 * 1024),
    DATA_SOURCE_IMPORT_MAX_ROWS: positiveInt(100_000),
    /** TCP sources: warm connections each source's SourceConnection keeps, and the calls it runs at once (more get 503). */
    DATA_SOURCE_POOL_SIZE: positiveInt(3),
    DATA_SOURCE_MAX_CONCURRENT: positiveInt(10),
    /** Lets data sources reach loopback, private, link-local, CGNAT, ULA and metadata addresses; unset: only outside production. */
    DATA_SOURCE_ALLOW_PRIVATE: z.enum(["true", "false"]).optional(),
    /**
     * Verification and invitation mail: an HTTP email API in Resend's wire format (`POST {EMAIL_API_URL}/emails`).
     * Without EMAIL_API_URL nothing is sent (sign-up still works; /health/ready says so); with it, EMAIL_API_KEY is required.
     */
    EMAIL_API_URL: z
      .url({ protocol: /^https?$/ })
      .transform((value) => value.replace(/\/+$/, ""))
      .optional(),
    EMAIL_API_KEY: z.string().min(8, "must be at least 8 characters").refine(notPlaceholder, "is a placeholder").optional(),
    EMAIL_FROM: z
      .string()
      .regex(/^[^\r\n]*@[^\r\n]*$/, "must be an address, optionally `Name <address>`")
      .default("Datacrafted <no-reply@datacrafted.app>"),
    /** The web app the links in emails open (`/verify-email#token=…`, `/invitations#token=…`). */
    APP_URL: z
      .url({ protocol: /^https?$/ })
      .transform((value) => value.replace(/\/+$/, ""))
      .default("https://app.datacrafted.app"),
    EMAIL_VERIFICATION_TTL_HOURS: positiveInt(24),
    INVITATION_TTL_DAYS: positiveInt(7),
    /** Webhooks: how long a receiver may take to answer, how long a failing delivery is retried (exponential backoff from
     *  the base), and how long a rotated-out secret keeps signing beside the new one. */
    WEBHOOK_TIMEOUT_MS: positiveInt(10_000),
    WEBHOOK_RETRY_WINDOW_SECONDS: positiveInt(86_400),
    WEBHOOK_RETRY_BASE_SECONDS: positiveInt(30),
    WEBHOOK_SECRET_GRACE_SECONDS: positiveInt(86_400),
    /** An external OpenID Connect provider (Auth0, Clerk, Firebase, Supabase…): all three, or none. */
    OIDC_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
    OIDC_ISSUER: z.string().min(1).optional(),
    OIDC_AUDIENCE: z.string().min(1).optional(),
  })
  .superRefine((config, ctx) => {
    if (config.ENVIRONMENT === "production" && config.DATA_SOURCE_ALLOW_PRIVATE === "true") {
      ctx.addIssue({ code: "custom", path: ["DATA_SOURCE_ALLOW_PRIVATE"], message: "may be true only for development and tests" });
    }
    const oidc = [config.OIDC_JWKS_URL, config.OIDC_ISSUER, config.OIDC_AUDIENCE];
    if (oidc.some(Boolean) && !oidc.every(Boolean)) {
      ctx.addIssue({ code: "custom", path: ["OIDC_JWKS_URL"], message: "OIDC_JWKS_URL, OIDC_ISSUER and OIDC_AUDIENCE go together" });
    }
    if (config.EMAIL_API_URL && !config.EMAIL_API_KEY) {
      ctx.addIssue({ code: "custom", path: ["EMAIL_API_KEY"], message: "is required with EMAIL_API_URL" });
    }
    if (config.OIDC_ISSUER && config.OIDC_ISSUER === config.AUTH_ISSUER) {
      ctx.addIssue({ code: "custom", path: ["OIDC_ISSUER"], message: "must differ from AUTH_ISSUER" });
    }
  })
  .transform(({ DATA_SOURCE_ALLOW_PRIVATE, ...config }) => ({
    ...config,
    DATA_SOURCE_ALLOW_PRIVATE: (DATA_SOURCE_ALLOW_PRIVATE ?? (config.ENVIRONMENT === "production" ? "false" : "true")) === "true",
  }));

export type Config = z.infer<typeof configSchema>;

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Env objects are stable per isolate, so each is validated once. */
const cache = new WeakMap<object, ConfigResult>();

/** Validates `env`; problems name the variable and the rule, never the value. */
export function loadConfig(env: object): ConfigResult {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = configSchema.safeParse(env);
  const result: ConfigResult = parsed.success
    ? { ok: true, config: parsed.data }
    : { ok: false, problems: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) };
  cache.set(env, result);
  if (result.ok && result.config.DATA_SOURCE_ALLOW_PRIVATE && result.config.LOG_LEVEL !== "error") {
    createLogger(result.config.LOG_LEVEL).warn("data sources may reach loopback and private addresses (development and tests only)", {
      setting: "DATA_SOURCE_ALLOW_PRIVATE",
    });
  }
  return result;
}
