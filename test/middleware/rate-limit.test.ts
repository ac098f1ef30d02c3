// Rate limits through the real Upstash gateway and Redis: headers, 429, tiers, buckets, the ephemeral cache, fail modes, two instances.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { users } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";
import { call, json, person, randomIp } from "../support/harness.ts";
import { expectProblem } from "../support/problem.ts";

const deadUrl = inject("deadUrl");

/** A request to this test's own instance of the Worker, with configuration overrides. */
async function direct(path: string, overrides: Partial<Cloudflare.Env>, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`https://api.test${path}`, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

/** person() itself signs in once and reads GET /me once: one request already spent in each of those buckets. */
const SPENT = 1;

afterEach(() => vi.restoreAllMocks());

describe("the tier limit", () => {
  it("counts down in RateLimit headers and refuses the N+1st request with 429 until the window ends", async () => {
    const ada = await person("limit");
    const limits = { RATE_LIMIT_FREE: String(3 + SPENT) };
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await direct("/api/v1/me", limits, bearer(ada.token));
      expect(response.status).toBe(200);
      expect(response.headers.get("RateLimit-Policy")).toBe(`"free";q=${3 + SPENT};w=60`);
      remaining.push(response.headers.get("RateLimit")!);
    }
    expect(remaining.map((value) => /r=(\d+)/.exec(value)?.[1])).toEqual(["2", "1", "0"]);
    const windowLeft = Number(/t=(\d+)/.exec(remaining[2]!)?.[1]);
    expect(windowLeft).toBeGreaterThan(0);
    expect(windowLeft).toBeLessThanOrEqual(60);

    const refused = await direct("/api/v1/me", limits, bearer(ada.token));
    const problem = await expectProblem(refused, 429, "RATE_LIMITED");
    expect(problem.policy).toBe("free");
    expect(problem.detail).toContain('"free"');
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(windowLeft - 1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get("RateLimit")).toMatch(/^"free";r=0;t=\d+$/);
  });

  it("differs by tier", async () => {
    const [free, upgraded] = [await person("free"), await person("pro")];
    await createDb(env).update(users).set({ tier: "pro" }).where(eq(users.email, upgraded.email));
    // The tier travels in the access token: the upgrade applies from the next token.
    const pro = {
      token: (
        await json<{ accessToken: string }>(
          await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: upgraded.tokens.refreshToken } }),
          200,
        )
      ).accessToken,
    };
    // person() spent its request in the free bucket, before the upgrade: the pro bucket starts full.
    const limits = { RATE_LIMIT_FREE: String(2 + SPENT), RATE_LIMIT_PRO: "4" };
    const statuses = async (token: string) => {
      const out: number[] = [];
      for (let i = 0; i < 5; i++) out.push((await direct("/api/v1/me", limits, bearer(token))).status);
      return out;
    };
    expect(await statuses(free.token)).toEqual([200, 200, 429, 429, 429]);
    expect(await statuses(pro.token)).toEqual([200, 200, 200, 200, 429]);
    const response = await direct("/api/v1/me", { ...limits, RATE_LIMIT_PRO: "1000" }, bearer(pro.token));
    expect(response.headers.get("RateLimit-Policy")).toBe('"pro";q=1000;w=60');
  });

  it("keys anonymous callers by client IP", async () => {
    const limits = { RATE_LIMIT_FREE: "2" };
    const [a, b] = [randomIp(), randomIp()];
    const from = (ip: string) => direct("/api/v1/orgs", limits, { headers: { "CF-Connecting-IP": ip } });
    expect([(await from(a)).status, (await from(a)).status, (await from(a)).status]).toEqual([401, 401, 429]);
    expect((await from(b)).status).toBe(401);
  });

  it("keys an API key apart from the person who made it", async () => {
    const ada = await person("keyed");
    const { key } = await json<{ key: string }>(
      await call(`/api/v1/orgs/${ada.personalOrg}/api-keys`, { method: "POST", token: ada.token, body: { name: "k" } }),
      201,
    );
    // Creating the key spent one more of Ada's requests.
    const limits = { RATE_LIMIT_FREE: String(1 + SPENT + 1) };
    expect((await direct("/api/v1/me", limits, bearer(ada.token))).status).toBe(200);
    expect((await direct("/api/v1/me", limits, bearer(ada.token))).status).toBe(429);
    expect((await direct(`/api/v1/orgs/${ada.personalOrg}`, limits, bearer(key))).status).toBe(200);
  });

  it("once blocked, refuses from the isolate's cache without asking Redis", async () => {
    const ada = await person("cached");
    const limits = { RATE_LIMIT_FREE: String(1 + SPENT) };
    await direct("/api/v1/me", limits, bearer(ada.token));
    await expectProblem(await direct("/api/v1/me", limits, bearer(ada.token)), 429, "RATE_LIMITED");
    // Redis gone and the limiter failing closed: an answer from Redis would be a 503. The cache answers 429.
    const offline = { ...limits, UPSTASH_REDIS_REST_URL: deadUrl, RATE_LIMIT_FAIL_MODE: "closed" };
    await expectProblem(await direct("/api/v1/me", offline, bearer(ada.token)), 429, "RATE_LIMITED");
  });

  it("keeps working after SCRIPT FLUSH", async () => {
    const ada = await person("flush");
    const limits = { RATE_LIMIT_FREE: String(2 + SPENT) };
    expect((await direct("/api/v1/me", limits, bearer(ada.token))).status).toBe(200);
    const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, enableTelemetry: false });
    expect(await redis.scriptFlush()).toBe("OK");
    const after = await direct("/api/v1/me", limits, bearer(ada.token));
    expect(after.status).toBe(200);
    expect(after.headers.get("RateLimit")).toMatch(/^"free";r=0;/);
    expect((await direct("/api/v1/me", limits, bearer(ada.token))).status).toBe(429);
  });
});

describe("sign-in and sign-up buckets", () => {
  it("limit sign-in attempts per account across addresses", async () => {
    const ada = await person("guess");
    const attempt = () => call("/api/v1/auth/signin", { method: "POST", body: { email: ada.email, password: "wrong-guess" } });
    for (let i = 0; i < 5 - SPENT; i++) expect((await attempt()).status).toBe(401);
    const refused = await attempt();
    expect((await expectProblem(refused, 429, "RATE_LIMITED")).policy).toBe("signin-email");
    // Every bucket the refused request spent is listed, the refused one last.
    expect(refused.headers.get("RateLimit-Policy")).toMatch(/^"free";q=\d+;w=60, "signin-ip";q=20;w=60, "signin-email";q=5;w=60$/);
    // Even the right password waits: the account is under attack.
    await expectProblem(
      await call("/api/v1/auth/signin", { method: "POST", body: { email: ada.email, password: ada.password } }),
      429,
      "RATE_LIMITED",
    );
  });

  it("list every bucket a sign-in spends (tier, per client, per address) in RateLimit-Policy and RateLimit", async () => {
    const ip = randomIp();
    const email = `multi-${crypto.randomUUID()}@example.com`;
    const attempt = () =>
      direct(
        "/api/v1/auth/signin",
        { RATE_LIMIT_FREE: "50" },
        {
          method: "POST",
          headers: { "CF-Connecting-IP": ip, "Content-Type": "application/json" },
          body: JSON.stringify({ email, password: "not-the-password" }),
        },
      );
    const policy = '"free";q=50;w=60, "signin-ip";q=20;w=60, "signin-email";q=5;w=60';
    for (const spent of [1, 2]) {
      const response = await attempt();
      await expectProblem(response, 401, "INVALID_CREDENTIALS");
      expect(response.headers.get("RateLimit-Policy")).toBe(policy);
      const items = response.headers.get("RateLimit")!.split(", ");
      expect(items.map((item) => item.replace(/;t=\d+$/, ""))).toEqual([
        `"free";r=${50 - spent}`,
        `"signin-ip";r=${20 - spent}`,
        `"signin-email";r=${5 - spent}`,
      ]);
      for (const item of items) expect(Number(/;t=(\d+)$/.exec(item)?.[1])).toBeGreaterThan(0);
    }
  });

  it("limit sign-in attempts per client address across accounts", async () => {
    const ip = randomIp();
    const attempt = (i: number) =>
      call("/api/v1/auth/signin", {
        method: "POST",
        body: { email: `spray-${i}@example.com`, password: "password123" },
        headers: { "CF-Connecting-IP": ip },
      });
    for (let i = 0; i < 20; i++) expect((await attempt(i)).status).toBe(401);
    expect((await expectProblem(await attempt(20), 429, "RATE_LIMITED")).policy).toBe("signin-ip");
  });

  it("limit sign-ups per client address", async () => {
    const ip = randomIp();
    const signup = (i: number) =>
      call("/api/v1/auth/signup", {
        method: "POST",
        body: { email: `bulk-${crypto.randomUUID()}-${i}@example.com`, password: "password1234" },
        headers: { "CF-Connecting-IP": ip },
      });
    for (let i = 0; i < 10; i++) expect((await signup(i)).status).toBe(202);
    expect((await expectProblem(await signup(10), 429, "RATE_LIMITED")).policy).toBe("signup-ip");
  });
});

describe("when Redis is down", () => {
  const offline = { UPSTASH_REDIS_REST_URL: deadUrl, RATE_LIMIT_TIMEOUT_MS: "300" };

  it("lets requests through when the fail mode is open, logging the incident once and showing it on /health/ready", async () => {
    const ada = await person("open");
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    for (let i = 0; i < 3; i++) {
      const response = await direct("/api/v1/me", { ...offline, RATE_LIMIT_FAIL_MODE: "open" }, bearer(ada.token));
      expect(response.status).toBe(200);
      expect(response.headers.get("RateLimit")).toBeNull();
    }
    const incidents = logged.mock.calls.filter(([line]) => String(line).includes("rate limiter unavailable"));
    expect(incidents).toHaveLength(1);
    expect(String(incidents[0]![0])).toContain('"failMode":"open"');
    const ready = await direct("/health/ready", {});
    expect(((await ready.json()) as { rateLimiter: unknown }).rateLimiter).toEqual({
      failMode: "open",
      status: "degraded",
      since: expect.any(String),
    });
    // Redis back: the next limited request ends the incident.
    expect((await direct("/api/v1/me", {}, bearer(ada.token))).headers.get("RateLimit")).not.toBeNull();
    expect(((await (await direct("/health/ready", {})).json()) as { rateLimiter: { status: string } }).rateLimiter.status).toBe("ok");
  });

  it("refuses requests with 503 and Retry-After when the fail mode is closed", async () => {
    const ada = await person("closed");
    vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await direct("/api/v1/me", { ...offline, RATE_LIMIT_FAIL_MODE: "closed" }, bearer(ada.token));
    await expectProblem(response, 503, "SERVICE_UNAVAILABLE");
    expect(response.headers.get("Retry-After")).toBe("5");
  });
});

describe("RATE_LIMIT_ENABLED=false", () => {
  it("stops checking limits, and /health/ready says so", async () => {
    const ada = await person("disabled");
    const off = { RATE_LIMIT_ENABLED: "false", RATE_LIMIT_FREE: "1" };
    for (let i = 0; i < 3; i++) {
      const response = await direct("/api/v1/me", off, bearer(ada.token));
      expect(response.status).toBe(200);
      expect(response.headers.get("RateLimit")).toBeNull();
    }
    const ready = (await (await direct("/health/ready", off)).json()) as { rateLimiter: { status: string } };
    expect(ready.rateLimiter.status).toBe("disabled");
  });
});

describe("two Worker instances sharing Redis", () => {
  it("hold one limit between them", async () => {
    const ada = await person("multi");
    const second = inject("secondWorkerUrl");
    // This instance and the second (its own workerd process) both allow 6 a minute; person() spent one.
    const here = () => direct("/api/v1/me", { RATE_LIMIT_FREE: "6" }, bearer(ada.token));
    const there = () => fetch(`${second}/api/v1/me`, bearer(ada.token));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await (i % 2 === 0 ? here() : there())).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    await expectProblem(await there(), 429, "RATE_LIMITED");
    await expectProblem(await here(), 429, "RATE_LIMITED");
  });
});
