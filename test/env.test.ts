// The configuration schema (unit) and how the Worker fails closed on a bad environment (the Worker's fetch, called directly).
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../src/env.ts";
import worker from "../src/index.ts";
import { expectProblem } from "./support/problem.ts";

const valid = {
  DATABASE_URL: "postgresql://app:s3cr3t-Pa55@ep-cool-1.eu-central-1.aws.neon.tech/neondb?sslmode=require",
  UPSTASH_REDIS_REST_URL: "https://eu1-cool-12345.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "AXXXASQgNzYyYjg0ZjktMWE2ZS00",
  AUTH_JWT_KEYS: "k2:9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc,k1:0a1b2c3d4e5f60718293a4b5c6d7e8f9aabbccdd",
  DATA_SOURCE_KEYS: "ds-2:q3Jx1y8Wm0nV7tK2pL9sR4eH6uC5aZ1bN8dF0gT3kYw,ds-1:Zk9mP2xQ7vL4nR8sT1wY5bC3dF6gH0jK2lM9pN4qR7s",
  DATASETS: env.DATASETS,
  ANALYSIS_QUEUE: env.ANALYSIS_QUEUE,
  AUDIT_QUEUE: env.AUDIT_QUEUE,
  USAGE_QUEUE: env.USAGE_QUEUE,
  SESSION_ROOMS: env.SESSION_ROOMS,
  DATASET_LOAD_QUEUE: env.DATASET_LOAD_QUEUE,
  DATASET_INGEST_QUEUE: env.DATASET_INGEST_QUEUE,
  WEBHOOK_QUEUE: env.WEBHOOK_QUEUE,
  DATASET_STORES: env.DATASET_STORES,
  SOURCE_CONNECTIONS: env.SOURCE_CONNECTIONS,
};

afterEach(() => vi.restoreAllMocks());

describe("loadConfig", () => {
  it("applies defaults to a minimal environment", () => {
    const result = loadConfig({ ...valid });
    expect(result).toEqual({
      ok: true,
      config: expect.objectContaining({
        ENVIRONMENT: "production",
        LOG_LEVEL: "info",
        ALLOWED_ORIGINS: [],
        MAX_BODY_BYTES: 1_048_576,
        HEALTH_CHECK_TIMEOUT_MS: 2_000,
        AUTH_ISSUER: "https://api.datacrafted.app",
        AUTH_AUDIENCE: "datacrafted-api",
        ACCESS_TOKEN_TTL_SECONDS: 900,
        REFRESH_TOKEN_TTL_DAYS: 30,
        EMAIL_FROM: "Datacrafted <no-reply@datacrafted.app>",
        APP_URL: "https://app.datacrafted.app",
        EMAIL_VERIFICATION_TTL_HOURS: 24,
        INVITATION_TTL_DAYS: 7,
        WEBHOOK_TIMEOUT_MS: 10_000,
        WEBHOOK_RETRY_WINDOW_SECONDS: 86_400,
        WEBHOOK_RETRY_BASE_SECONDS: 30,
        WEBHOOK_SECRET_GRACE_SECONDS: 86_400,
        AUTH_JWT_KEYS: [
          { kid: "k2", secret: "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc" },
          { kid: "k1", secret: "0a1b2c3d4e5f60718293a4b5c6d7e8f9aabbccdd" },
        ],
      }),
    });
  });

  it("parses lists and numbers from their string form", () => {
    const result = loadConfig({ ...valid, ALLOWED_ORIGINS: " https://a.example.com, http://localhost:5173 ", MAX_BODY_BYTES: "2048" });
    expect(result.ok && result.config.ALLOWED_ORIGINS).toEqual(["https://a.example.com", "http://localhost:5173"]);
    expect(result.ok && result.config.MAX_BODY_BYTES).toBe(2048);
  });

  it.each([
    ["a missing DATABASE_URL", { DATABASE_URL: undefined }, "DATABASE_URL"],
    ["a DATABASE_URL that is not Postgres", { DATABASE_URL: "mysql://u:p@h/db" }, "DATABASE_URL"],
    ["a placeholder database password", { DATABASE_URL: "postgresql://USER:PASSWORD@host/db" }, "DATABASE_URL"],
    ["a short Upstash token", { UPSTASH_REDIS_REST_TOKEN: "short" }, "UPSTASH_REDIS_REST_TOKEN"],
    [
      "the sample token from .dev.vars.example",
      { UPSTASH_REDIS_REST_TOKEN: "replace-with-your-upstash-token" },
      "UPSTASH_REDIS_REST_TOKEN",
    ],
    ["a non-HTTP Upstash URL", { UPSTASH_REDIS_REST_URL: "redis://localhost:6379" }, "UPSTASH_REDIS_REST_URL"],
    ["an origin that is not a URL", { ALLOWED_ORIGINS: "example.com" }, "ALLOWED_ORIGINS"],
    ["a zero body limit", { MAX_BODY_BYTES: "0" }, "MAX_BODY_BYTES"],
    ["an unknown log level", { LOG_LEVEL: "verbose" }, "LOG_LEVEL"],
    ["missing signing keys", { AUTH_JWT_KEYS: undefined }, "AUTH_JWT_KEYS"],
    ["a short signing secret", { AUTH_JWT_KEYS: "k1:tooshortsecret" }, "AUTH_JWT_KEYS"],
    [
      "the sample signing key from .dev.vars.example",
      { AUTH_JWT_KEYS: "key-2026-11:replace-with-32-or-more-random-characters" },
      "AUTH_JWT_KEYS",
    ],
    ["a signing key without a kid", { AUTH_JWT_KEYS: ":0a1b2c3d4e5f60718293a4b5c6d7e8f9aabbccdd" }, "AUTH_JWT_KEYS"],
    ["missing data-source keys", { DATA_SOURCE_KEYS: undefined }, "DATA_SOURCE_KEYS"],
    ["a short data-source key", { DATA_SOURCE_KEYS: "ds-1:c2hvcnQta2V5LW9ubHk" }, "DATA_SOURCE_KEYS"],
    [
      "the sample data-source key from .dev.vars.example",
      { DATA_SOURCE_KEYS: "key-2026-11:replace-with-32-random-bytes-base64url-encoded" },
      "DATA_SOURCE_KEYS",
    ],
    ["an all-zero data-source key", { DATA_SOURCE_KEYS: "ds-1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, "DATA_SOURCE_KEYS"],
    ["a data-source key without a kid", { DATA_SOURCE_KEYS: "q3Jx1y8Wm0nV7tK2pL9sR4eH6uC5aZ1bN8dF0gT3kYw" }, "DATA_SOURCE_KEYS"],
    ["a missing R2 binding", { DATASETS: undefined }, "DATASETS"],
    ["a missing queue binding", { ANALYSIS_QUEUE: undefined }, "ANALYSIS_QUEUE"],
    ["a missing Durable Object binding", { SESSION_ROOMS: undefined }, "SESSION_ROOMS"],
    ["a placeholder model key", { OPENAI_API_KEY: "replace-me" }, "OPENAI_API_KEY"],
    ["half an OIDC configuration", { OIDC_ISSUER: "https://idp.example.com/" }, "OIDC_JWKS_URL"],
    ["an email API without its key", { EMAIL_API_URL: "https://api.resend.com" }, "EMAIL_API_KEY"],
    [
      "the sample email key from .dev.vars.example",
      { EMAIL_API_URL: "https://api.resend.com", EMAIL_API_KEY: "replace-with-your-email-api-key" },
      "EMAIL_API_KEY",
    ],
    ["an email API that is not HTTP", { EMAIL_API_URL: "smtp://mail.example.com", EMAIL_API_KEY: "re_0123456789abcdef" }, "EMAIL_API_URL"],
    ["an app URL that is not a URL", { APP_URL: "app.example.com" }, "APP_URL"],
    ["a sender with a line break", { EMAIL_FROM: "a@example.com\r\nBcc: x@example.com" }, "EMAIL_FROM"],
  ])("refuses %s, naming the variable but not the value", (_, override, variable) => {
    const result = loadConfig({ ...valid, ...override });
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems.some((problem) => problem.startsWith(`${variable}`))).toBe(true);
    for (const value of Object.values(override)) if (value && value.length > 3) expect(problems.join("\n")).not.toContain(value);
  });
});

describe("the Worker with an unsafe environment", () => {
  it("answers every route with 500 CONFIG_INVALID and logs which variable, never its value", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const unsafe = { ...env, UPSTASH_REDIS_REST_TOKEN: "short" };
    for (const path of ["/health", "/api/v1/anything"]) {
      const ctx = createExecutionContext();
      const response = await worker.fetch(new Request(`https://api.test${path}`), unsafe, ctx);
      await waitOnExecutionContext(ctx);
      const body = await expectProblem(response, 500, "CONFIG_INVALID");
      expect(JSON.stringify(body)).not.toContain("UPSTASH");
    }
    const lines = logged.mock.calls.map(([line]) => String(line));
    expect(lines.some((line) => line.includes("configuration invalid") && line.includes("UPSTASH_REDIS_REST_TOKEN"))).toBe(true);
    expect(lines.join("\n")).not.toContain('"short"');
  });
});
