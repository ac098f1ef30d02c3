// Drizzle tables. drizzle-kit reads this file to generate migrations/ (npm run db:generate).
import { sql } from "drizzle-orm";
import type { ChatGrounding } from "./chat-documents.ts";
import { formats, type ParseOptions, type Profile, rejectReasons } from "./dataset-documents.ts";
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/** Millisecond precision, like a JS Date: cursors built from these values compare exactly. */
const instant = (name: string) => timestamp(name, { withTimezone: true, mode: "date", precision: 3 });

const timestamps = {
  createdAt: instant("created_at").notNull().defaultNow(),
  updatedAt: instant("updated_at").notNull().defaultNow(),
};

/** A resource people change: its version (the ETag, and what If-Match compares) and who created and last changed it. */
const edits = () => ({
  version: integer("version").notNull().default(1),
  createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
  updatedBy: uuid("updated_by").references(() => users.id, { onDelete: "set null" }),
});

export const roles = ["owner", "admin", "member", "viewer"] as const;

/** Rate-limit tiers (src/lib/rate-limits.ts): a person's own, or an API key's organization's. */
export const tiers = ["free", "pro", "enterprise"] as const;
export type Tier = (typeof tiers)[number];
export type Role = (typeof roles)[number];

/** What an organization lets the model see of its data (src/services/llm/data-policy.ts): column shapes only, a sample, or full tool results. */
export const llmDataPolicies = ["schema", "sample", "full"] as const;
export type LlmDataPolicy = (typeof llmDataPolicies)[number];

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey(),
    /** Lower-cased; unique among all users, deleted ones included (an address is never silently reused). */
    email: text("email").notNull(),
    name: text("name"),
    /** `pbkdf2-sha256$<iterations>$<salt>$<hash>`; null for users of an external identity provider. */
    passwordHash: text("password_hash"),
    status: text("status", { enum: ["active", "banned"] })
      .notNull()
      .default("active"),
    tier: text("tier", { enum: tiers }).notNull().default("free"),
    externalIssuer: text("external_issuer"),
    externalSubject: text("external_subject"),
    /** When the person proved they read this address (a verification link, or an IdP's `email_verified`); null until then. */
    emailVerifiedAt: instant("email_verified_at"),
    ...timestamps,
    deletedAt: instant("deleted_at"),
  },
  (t) => [uniqueIndex("users_email_key").on(t.email), uniqueIndex("users_external_identity_key").on(t.externalIssuer, t.externalSubject)],
);

/** One signed-in device: a family of refresh tokens, each used once. */
export const authSessions = pgTable(
  "auth_sessions",
  {
    id: uuid("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: instant("created_at").notNull().defaultNow(),
    lastActiveAt: instant("last_active_at").notNull().defaultNow(),
    expiresAt: instant("expires_at").notNull(),
    revokedAt: instant("revoked_at"),
    revokedReason: text("revoked_reason", { enum: ["signout", "reuse", "account_deleted"] }),
    userAgent: text("user_agent"),
    ip: text("ip"),
  },
  (t) => [index("auth_sessions_user_idx").on(t.userId), index("auth_sessions_expires_idx").on(t.expiresAt)],
);

/** Refresh tokens exist here only as SHA-256 hashes; a replaced one presented again betrays a theft. */
export const authRefreshTokens = pgTable(
  "auth_refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => authSessions.id, { onDelete: "cascade" }),
    createdAt: instant("created_at").notNull().defaultNow(),
    replacedAt: instant("replaced_at"),
  },
  (t) => [index("auth_refresh_tokens_session_idx").on(t.sessionId)],
);

export const organizations = pgTable(
  "organizations",
  {
    id: uuid("id").primaryKey(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    personal: boolean("personal").notNull().default(false),
    tier: text("tier", { enum: tiers }).notNull().default("free"),
    llmDataPolicy: text("llm_data_policy", { enum: llmDataPolicies }).notNull().default("sample"),
    /** Members must have a confirmed second factor (user_totp) before any of the organization's routes answer them. */
    requireMfa: boolean("require_mfa").notNull().default(false),
    /** LLM cost units a calendar month (UTC) may spend (src/services/usage/budget.ts); null: the tier's default. */
    llmMonthlyBudget: integer("llm_monthly_budget"),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    ...timestamps,
    deletedAt: instant("deleted_at"),
  },
  (t) => [
    uniqueIndex("organizations_slug_key").on(t.slug),
    check("organizations_llm_data_policy_check", sql`${t.llmDataPolicy} IN ('schema', 'sample', 'full')`),
  ],
);

export const orgMembers = pgTable(
  "org_members",
  {
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: roles }).notNull(),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] }), index("org_members_user_idx").on(t.userId, t.createdAt)],
);

/**
 * An invitation to an address: a single-use token (only its SHA-256 kept) that a verified account with
 * that address accepts explicitly. Accepted and revoked ones stay as history; one pending per address.
 */
export const orgInvitations = pgTable(
  "org_invitations",
  {
    id: uuid("id").primaryKey(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role", { enum: roles }).notNull(),
    invitedBy: uuid("invited_by").references(() => users.id, { onDelete: "set null" }),
    // Defaults only for rows from before tokens (the migration): no token hashes to `unissued:…`, and they show as
    // expired, so an admin resends them (a resend issues a token). New invitations always set both.
    tokenHash: text("token_hash").notNull().default(sql`('unissued:' || gen_random_uuid()::text)`),
    expiresAt: instant("expires_at").notNull().defaultNow(),
    acceptedAt: instant("accepted_at"),
    acceptedBy: uuid("accepted_by").references(() => users.id, { onDelete: "set null" }),
    revokedAt: instant("revoked_at"),
    createdAt: instant("created_at").notNull().defaultNow(),
    /** Last (re)sent: a resend issues a new token and a new expiry. */
    updatedAt: instant("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("org_invitations_pending_key").on(t.orgId, t.email).where(sql`accepted_at IS NULL AND revoked_at IS NULL`),
    uniqueIndex("org_invitations_token_key").on(t.tokenHash),
    index("org_invitations_org_created_idx").on(t.orgId, t.createdAt, t.id),
  ],
);

/** Email verification links: single use, expiring, stored only as SHA-256 hashes. */
export const emailVerificationTokens = pgTable(
  "email_verification_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The address the link was sent to: it verifies that address only. */
    email: text("email").notNull(),
    expiresAt: instant("expires_at").notNull(),
    usedAt: instant("used_at"),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [index("email_verification_tokens_user_idx").on(t.userId)],
);

/**
 * A user's TOTP second factor (RFC 6238). The shared secret is sealed with the at-rest key ring (DATA_SOURCE_KEYS, the
 * same AES-GCM envelope as data-source credentials); `confirmedAt` is null until a first code proves the enrolment.
 * `lastStep` is the time step of the last code accepted: a code of that step or an earlier one is a replay.
 */
export const userTotp = pgTable("user_totp", {
  userId: uuid("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  secret: text("secret").notNull(),
  keyId: text("key_id").notNull(),
  confirmedAt: instant("confirmed_at"),
  lastStep: bigint("last_step", { mode: "number" }),
  createdAt: instant("created_at").notNull().defaultNow(),
});

/** Single-use recovery codes for a TOTP enrolment: only their SHA-256 kept; a new set replaces the old one. */
export const userRecoveryCodes = pgTable(
  "user_recovery_codes",
  {
    codeHash: text("code_hash").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    usedAt: instant("used_at"),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [index("user_recovery_codes_user_idx").on(t.userId)],
);

export const apiKeyScopes = ["read", "write"] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    createdBy: uuid("created_by")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The first characters of the secret, shown in lists so people can tell keys apart. */
    prefix: text("prefix").notNull(),
    keyHash: text("key_hash").notNull(),
    scopes: text("scopes", { enum: apiKeyScopes }).array().notNull().default(sql`'{read}'::text[]`),
    lastUsedAt: instant("last_used_at"),
    expiresAt: instant("expires_at"),
    revokedAt: instant("revoked_at"),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("api_keys_key_hash_key").on(t.keyHash), index("api_keys_org_idx").on(t.orgId, t.createdAt)],
);

/** One row per state-changing request and auth event. Never a token, a password or a raw body. */
export const auditLogs = pgTable(
  "audit_logs",
  {
    id: uuid("id").primaryKey(),
    at: instant("at").notNull(),
    requestId: text("request_id").notNull(),
    actorType: text("actor_type", { enum: ["user", "api_key", "anonymous"] }).notNull(),
    /** The user (for an API key: the key's creator). */
    actorId: uuid("actor_id"),
    apiKeyId: uuid("api_key_id"),
    orgId: uuid("org_id"),
    action: text("action").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    method: text("method").notNull(),
    route: text("route"),
    status: integer("status").notNull(),
    durationMs: integer("duration_ms").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    errorCode: text("error_code"),
  },
  (t) => [
    index("audit_logs_org_at_idx").on(t.orgId, t.at, t.id),
    index("audit_logs_org_actor_idx").on(t.orgId, t.actorId, t.at),
    index("audit_logs_org_action_idx").on(t.orgId, t.action, t.at),
  ],
);

/** A workspace's unit of work: datasets and analysis sessions belong to one. */
export const projects = pgTable(
  "projects",
  {
    id: uuid("id").primaryKey(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    /** `#RRGGBB` */
    color: text("color"),
    icon: text("icon"),
    settings: jsonb("settings").$type<Record<string, unknown>>().notNull().default({}),
    ...edits(),
    ...timestamps,
    deletedAt: instant("deleted_at"),
  },
  (t) => [
    // Every list query: one organization's live projects, newest first, keyset-paged.
    index("projects_org_created_idx").on(t.orgId, t.createdAt, t.id).where(sql`deleted_at IS NULL`),
    // The purge: soft-deleted rows by age.
    index("projects_deleted_idx").on(t.deletedAt).where(sql`deleted_at IS NOT NULL`),
  ],
);

/** One version of an uploaded file: the bytes live in R2, the profile here. */
export const datasetQueryStatuses = ["pending", "loading", "ready", "failed"] as const;
export type DatasetQueryStatus = (typeof datasetQueryStatuses)[number];

export const datasets = pgTable(
  "datasets",
  {
    id: uuid("id").primaryKey(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    /** Versions share a name within a project. */
    name: text("name").notNull(),
    version: integer("version").notNull(),
    format: text("format", { enum: formats }).notNull(),
    status: text("status", { enum: ["ready"] })
      .notNull()
      .default("ready"),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    sha256: text("sha256").notNull(),
    rowCount: integer("row_count").notNull(),
    columnCount: integer("column_count").notNull(),
    /** How the file is read back: format, delimiter, header. */
    parseOptions: jsonb("parse_options").$type<ParseOptions>().notNull(),
    profile: jsonb("profile").$type<Profile>().notNull(),
    sample: jsonb("sample").$type<Record<string, unknown>[]>().notNull(),
    r2Key: text("r2_key").notNull(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: instant("created_at").notNull().defaultNow(),
    deletedAt: instant("deleted_at"),
    /** The queryable copy (DatasetStore): set by the load queue's consumer. */
    queryStatus: text("query_status", { enum: datasetQueryStatuses }).notNull().default("pending"),
    queryRows: integer("query_rows"),
    queryLoadedAt: instant("query_loaded_at"),
    queryError: text("query_error"),
    /** When a load was last queued by the cron or taken by the consumer: the cron's sweep of stuck loads counts from it (else createdAt). */
    queryQueuedAt: instant("query_queued_at"),
    /** Rows left out under onError=skip (the first 1,000 are listed in dataset_rejected_rows); rowCount + this = the file's records. */
    rejectedCount: integer("rejected_count").notNull().default(0),
  },
  (t) => [
    uniqueIndex("datasets_project_name_version_key").on(t.projectId, t.name, t.version),
    index("datasets_project_created_idx").on(t.projectId, t.createdAt, t.id).where(sql`deleted_at IS NULL`),
    index("datasets_project_sha_idx").on(t.projectId, t.sha256).where(sql`deleted_at IS NULL`),
    index("datasets_deleted_idx").on(t.deletedAt).where(sql`deleted_at IS NOT NULL`),
    // The purge asks whether any other row still uses a store (named by organization + sha256).
    index("datasets_org_sha_idx").on(t.orgId, t.sha256),
    // The cron's sweep: live datasets whose store is not settled.
    index("datasets_query_unsettled_idx").on(t.createdAt).where(sql`query_status IN ('pending', 'loading') AND deleted_at IS NULL`),
    check("datasets_query_status_check", sql`${t.queryStatus} IN ('pending', 'loading', 'ready', 'failed')`),
  ],
);

/** The reject report of an upload under onError=skip: its first 1,000 left-out rows, in file order (position 1…). */
export const datasetRejectedRows = pgTable(
  "dataset_rejected_rows",
  {
    datasetId: uuid("dataset_id")
      .notNull()
      .references(() => datasets.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    line: integer("line").notNull(),
    column: integer("column"),
    reason: text("reason", { enum: rejectReasons }).notNull(),
    /** The row's text, cut at 1 KiB of UTF-8. */
    raw: text("raw").notNull(),
  },
  (t) => [primaryKey({ columns: [t.datasetId, t.position] })],
);

export const uploadStatuses = ["uploading", "processing", "ready", "failed"] as const;
export type UploadStatus = (typeof uploadStatuses)[number];

/** An R2 part of a resumable upload, as R2 answered it (complete() wants them all back). */
export interface UploadPart {
  partNumber: number;
  etag: string;
}

/**
 * A tus upload (src/routes/uploads): its bytes go to one R2 multipart upload in fixed-size parts; the bytes after the
 * last whole part wait in a tail object. The dataset id is reserved at creation, so its events can be followed at once.
 */
export const resumableUploads = pgTable(
  "resumable_uploads",
  {
    id: uuid("id").primaryKey(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** The id the dataset takes once processed (or, for the same bytes already in the project, where it points). */
    datasetId: uuid("dataset_id").notNull(),
    /** The id reserved at creation, kept when datasetId is pointed at a duplicate (null on rows from before it was kept). */
    reservedDatasetId: uuid("reserved_dataset_id"),
    name: text("name").notNull(),
    format: text("format", { enum: formats }).notNull(),
    contentType: text("content_type").notNull(),
    /** Upload-Metadata as sent, decoded. */
    metadata: jsonb("metadata").$type<Record<string, string>>().notNull(),
    length: bigint("length", { mode: "number" }).notNull(),
    offset: bigint("upload_offset", { mode: "number" }).notNull().default(0),
    r2Key: text("r2_key").notNull(),
    r2UploadId: text("r2_upload_id").notNull(),
    parts: jsonb("parts").$type<UploadPart[]>().notNull().default([]),
    /** The bytes after the last whole part (tailBytes of them), in their own R2 object. */
    tailKey: text("tail_key"),
    tailBytes: bigint("tail_bytes", { mode: "number" }).notNull().default(0),
    status: text("status", { enum: uploadStatuses }).notNull().default("uploading"),
    error: text("error"),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    expiresAt: instant("expires_at").notNull(),
    ...timestamps,
  },
  (t) => [
    index("resumable_uploads_dataset_idx").on(t.datasetId),
    index("resumable_uploads_reserved_dataset_idx").on(t.reservedDatasetId),
    // The cron's sweep of abandoned uploads.
    index("resumable_uploads_expiring_idx").on(t.expiresAt).where(sql`status = 'uploading'`),
    check("resumable_uploads_status_check", sql`${t.status} IN ('uploading', 'processing', 'ready', 'failed')`),
    check("resumable_uploads_offset_check", sql`${t.offset} >= 0 AND ${t.offset} <= ${t.length}`),
  ],
);

export const analysisStatuses = ["queued", "running", "succeeded", "failed"] as const;
export type AnalysisStatus = (typeof analysisStatuses)[number];

/** An analysis session: one person's (or team's) line of inquiry into one dataset version. */
export const analysisSessions = pgTable(
  "analysis_sessions",
  {
    id: uuid("id").primaryKey(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    datasetId: uuid("dataset_id")
      .notNull()
      .references(() => datasets.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    ...edits(),
    ...timestamps,
    deletedAt: instant("deleted_at"),
  },
  (t) => [
    index("analysis_sessions_org_created_idx").on(t.orgId, t.createdAt, t.id).where(sql`deleted_at IS NULL`),
    index("analysis_sessions_project_created_idx").on(t.projectId, t.createdAt, t.id).where(sql`deleted_at IS NULL`),
    index("analysis_sessions_deleted_idx").on(t.deletedAt).where(sql`deleted_at IS NOT NULL`),
  ],
);

/** One run of the analysis engine on a session's dataset: queued or streamed, with its result once it succeeded. */
export const analyses = pgTable(
  "analyses",
  {
    id: uuid("id").primaryKey(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => analysisSessions.id, { onDelete: "cascade" }),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    status: text("status", { enum: analysisStatuses }).notNull(),
    mode: text("mode", { enum: ["stream", "queue"] }).notNull(),
    engine: text("engine", { enum: ["openai", "statistical"] }).notNull(),
    model: text("model"),
    /** What the person asked to focus on, if anything. */
    question: text("question"),
    summary: text("summary"),
    insights: jsonb("insights").$type<unknown[]>(),
    promptTokens: integer("prompt_tokens"),
    completionTokens: integer("completion_tokens"),
    /** The problem (RFC 9457 fields) that ended a failed analysis. */
    error: jsonb("error").$type<Record<string, unknown>>(),
    attempts: integer("attempts").notNull().default(0),
    heartbeatAt: instant("heartbeat_at"),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: instant("created_at").notNull().defaultNow(),
    startedAt: instant("started_at"),
    finishedAt: instant("finished_at"),
  },
  (t) => [
    index("analyses_session_created_idx").on(t.sessionId, t.createdAt, t.id),
    // The cron's sweep for jobs whose heartbeat stopped.
    index("analyses_running_heartbeat_idx").on(t.heartbeatAt).where(sql`status = 'running'`),
    // …and for queued jobs whose message was lost.
    index("analyses_queued_created_idx").on(t.createdAt).where(sql`status = 'queued'`),
  ],
);

/** A chart configuration an analysis proposed, in its order. */
export const charts = pgTable(
  "charts",
  {
    id: uuid("id").primaryKey(),
    analysisId: uuid("analysis_id")
      .notNull()
      .references(() => analyses.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    type: text("type").notNull(),
    title: text("title").notNull(),
    config: jsonb("config").$type<Record<string, unknown>>().notNull(),
  },
  (t) => [uniqueIndex("charts_analysis_position_key").on(t.analysisId, t.position)],
);

/** The chat transcript of a session. */
export const chatMessages = pgTable(
  "chat_messages",
  {
    id: uuid("id").primaryKey(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => analysisSessions.id, { onDelete: "cascade" }),
    role: text("role", { enum: ["user", "assistant"] }).notNull(),
    content: text("content").notNull(),
    engine: text("engine", { enum: ["openai", "statistical"] }),
    model: text("model"),
    tokens: integer("tokens"),
    /** An assistant answer's evidence: the dataset version it read and each query it ran, with its (capped) result. */
    grounding: jsonb("grounding").$type<ChatGrounding>(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [index("chat_messages_session_created_idx").on(t.sessionId, t.createdAt, t.id)],
);
export const dataSourceKinds = ["postgres", "redis"] as const;
export type DataSourceKind = (typeof dataSourceKinds)[number];

/** A registered external database. Its credentials are only ever stored sealed (src/services/data-sources/secrets.ts). */
export const dataSources = pgTable(
  "data_sources",
  {
    id: uuid("id").primaryKey(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind", { enum: dataSourceKinds }).notNull(),
    /** What may be shown: host, port, database, user, endpoint (never a password or token). */
    display: jsonb("display").$type<Record<string, string | number | boolean | null>>().notNull(),
    /** `v1.<kid>.<iv>.<ciphertext>`: the connection string or URL and token, sealed with AES-GCM. */
    secret: text("secret").notNull(),
    /** The key that sealed `secret`, so rotation finds what is left under an old key. */
    keyId: text("key_id").notNull(),
    ...edits(),
    lastTestedAt: instant("last_tested_at"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("data_sources_org_name_key").on(t.orgId, t.name),
    index("data_sources_org_created_idx").on(t.orgId, t.createdAt, t.id),
    index("data_sources_key_id_idx").on(t.keyId),
  ],
);

export const sourceQueryStatuses = ["succeeded", "failed"] as const;
export type SourceQueryStatus = (typeof sourceQueryStatuses)[number];

/** A query someone ran on a data source (POST …/query), written after the answer: what, how long, how many rows, how it ended. */
export const dataSourceQueries = pgTable(
  "data_source_queries",
  {
    id: uuid("id").primaryKey(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    sourceId: uuid("source_id")
      .notNull()
      .references(() => dataSources.id, { onDelete: "cascade" }),
    /** The person (for an API key: its creator). */
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    sql: text("sql").notNull(),
    params: jsonb("params").$type<(string | number | boolean | null)[]>().notNull().default([]),
    explain: boolean("explain").notNull().default(false),
    status: text("status", { enum: sourceQueryStatuses }).notNull(),
    errorCode: text("error_code"),
    durationMs: integer("duration_ms").notNull(),
    /** Rows answered (the page's, for a paged query); null when it failed or was an EXPLAIN. */
    rowCount: integer("row_count"),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [
    index("data_source_queries_user_idx").on(t.sourceId, t.userId, t.createdAt, t.id),
    // The cron's purge of entries past QUERY_HISTORY_DAYS.
    index("data_source_queries_created_idx").on(t.createdAt),
  ],
);

/** A query kept under a name on a data source, shared with the organization: members save, the creator or an admin changes it. */
export const savedQueries = pgTable(
  "saved_queries",
  {
    id: uuid("id").primaryKey(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    sourceId: uuid("source_id")
      .notNull()
      .references(() => dataSources.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    sql: text("sql").notNull(),
    params: jsonb("params").$type<(string | number | boolean | null)[]>().notNull().default([]),
    ...edits(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("saved_queries_source_name_key").on(t.sourceId, t.name),
    index("saved_queries_source_created_idx").on(t.sourceId, t.createdAt, t.id),
  ],
);

/** What an organization's webhook endpoints may subscribe to (src/services/webhooks/events.ts sends them). */
export const webhookEventTypes = [
  "dataset.ready",
  "dataset.failed",
  "analysis.succeeded",
  "analysis.failed",
  "member.joined",
  "member.removed",
  "api_key.created",
  "api_key.revoked",
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** An organization's receiver of signed event deliveries (Standard Webhooks). */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: uuid("id").primaryKey(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description"),
    events: text("events", { enum: webhookEventTypes }).array().notNull(),
    enabled: boolean("enabled").notNull().default(true),
    /** Why it stopped receiving (a 410 from the receiver), null while enabled or when an admin disabled it. */
    disabledReason: text("disabled_reason"),
    /** `v1.<kid>.<iv>.<ciphertext>`: the `whsec_…` signing secret sealed with DATA_SOURCE_KEYS (it must be read to sign). */
    secret: text("secret").notNull(),
    keyId: text("key_id").notNull(),
    /** The secret before the last rotation, still signing beside the new one until `previousSecretExpiresAt`. */
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: instant("previous_secret_expires_at"),
    ...edits(),
    ...timestamps,
  },
  (t) => [index("webhook_endpoints_org_created_idx").on(t.orgId, t.createdAt, t.id)],
);

export const webhookDeliveryStatuses = ["pending", "succeeded", "dead"] as const;

/** One event to one endpoint: its attempts so far and the last one's outcome; `dead` is the dead-letter record. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: uuid("id").primaryKey(),
    endpointId: uuid("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    /** The `webhook-id` header: the same for every attempt and redelivery of one event. */
    eventId: text("event_id").notNull(),
    eventType: text("event_type", { enum: webhookEventTypes }).notNull(),
    /** The JSON body sent, `{type, timestamp, data}`. */
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: webhookDeliveryStatuses }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastLatencyMs: integer("last_latency_ms"),
    lastError: text("last_error"),
    lastAttemptAt: instant("last_attempt_at"),
    nextAttemptAt: instant("next_attempt_at"),
    /** The delivery this one repeats (POST …/redeliver), null for the first. */
    redeliveryOf: uuid("redelivery_of"),
    finishedAt: instant("finished_at"),
    ...timestamps,
  },
  (t) => [
    index("webhook_deliveries_endpoint_created_idx").on(t.endpointId, t.createdAt, t.id),
    index("webhook_deliveries_event_idx").on(t.eventId),
  ],
);

/** The usage counters of one day (UTC), by name: what the usage queue adds up (src/queues/usage). */
export const usageCounters = [
  "requests",
  "llmCalls",
  "promptTokens",
  "completionTokens",
  "llmUnits",
  "rowsLoaded",
  "storageBytes",
  "dataSourceQueries",
] as const;
export type UsageCounter = (typeof usageCounters)[number];

const counter = (name: string) => bigint(name, { mode: "number" }).notNull().default(0);

/** An organization's usage on one day (UTC): rollups the usage queue's consumer adds to, read by GET /orgs/{slug}/usage. */
export const usageDaily = pgTable(
  "usage_daily",
  {
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    day: date("day", { mode: "string" }).notNull(),
    requests: counter("requests"),
    llmCalls: counter("llm_calls"),
    promptTokens: counter("prompt_tokens"),
    completionTokens: counter("completion_tokens"),
    llmUnits: counter("llm_units"),
    rowsLoaded: counter("rows_loaded"),
    storageBytes: counter("storage_bytes"),
    dataSourceQueries: counter("data_source_queries"),
    updatedAt: instant("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.day] })],
);

/** Usage messages already added to the rollups, by queue message id: a redelivered batch adds nothing twice (kept 14 days). */
export const usageReceipts = pgTable(
  "usage_receipts",
  {
    messageId: text("message_id").primaryKey(),
    receivedAt: instant("received_at").notNull().defaultNow(),
  },
  (t) => [index("usage_receipts_received_idx").on(t.receivedAt)],
);

/** How often a scheduled refresh runs. */
export const refreshSchedules = ["hourly", "daily", "weekly"] as const;
export const refreshStatuses = ["succeeded", "failed"] as const;

/** What a scheduled import reads: a Postgres query, or Redis keys (named, or by pattern). */
export type RefreshRequest = { kind: "postgres"; sql: string } | { kind: "redis"; keys?: string[]; match?: string; maxKeys: number };

/**
 * A data-source import saved with a schedule: the cron runs it when due (claimed by moving next_run_at and setting
 * running_since in one statement, so two runs never take one), each run a new version of `dataset_name` in the project,
 * and optionally a fresh analysis of the session `rerun_session_id` on it.
 */
export const dataRefreshes = pgTable(
  "data_refreshes",
  {
    id: uuid("id").primaryKey(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    dataSourceId: uuid("data_source_id")
      .notNull()
      .references(() => dataSources.id, { onDelete: "cascade" }),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    datasetName: text("dataset_name").notNull(),
    request: jsonb("request").$type<RefreshRequest>().notNull(),
    schedule: text("schedule", { enum: refreshSchedules }).notNull(),
    rerunSessionId: uuid("rerun_session_id").references(() => analysisSessions.id, { onDelete: "set null" }),
    nextRunAt: instant("next_run_at").notNull(),
    /** Set while a cron run holds it: a run that died is taken again once this is old (see run-refreshes.ts). */
    runningSince: instant("running_since"),
    lastRunAt: instant("last_run_at"),
    lastStatus: text("last_status", { enum: refreshStatuses }),
    lastError: text("last_error"),
    lastDatasetId: uuid("last_dataset_id").references(() => datasets.id, { onDelete: "set null" }),
    lastAnalysisId: uuid("last_analysis_id").references(() => analyses.id, { onDelete: "set null" }),
    runs: integer("runs").notNull().default(0),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    ...timestamps,
  },
  (t) => [
    index("data_refreshes_source_created_idx").on(t.dataSourceId, t.createdAt, t.id),
    index("data_refreshes_due_idx").on(t.nextRunAt),
  ],
);
