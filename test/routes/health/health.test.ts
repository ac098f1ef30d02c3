// /health and /health/ready through the Worker, with the gateways up and with one of them gone.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import worker from "../../../src/index.ts";
import { expectProblem } from "../../support/problem.ts";
import { checkedFetch } from "../../support/harness.ts";

const deadUrl = inject("deadUrl");

async function readyWith(overrides: Partial<Cloudflare.Env>) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request("https://api.test/health/ready"), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

afterEach(() => vi.restoreAllMocks());

describe("GET /health", () => {
  it("answers ok without touching a dependency", async () => {
    // Pointed at dead dependencies, liveness still answers: it does no I/O.
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request("https://api.test/health"),
      { ...env, NEON_FETCH_ENDPOINT: `${deadUrl}/sql`, UPSTASH_REDIS_REST_URL: deadUrl },
      ctx,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toEqual({ status: "ok" });
  });
});

describe("GET /health/ready", () => {
  it("reports Postgres and Redis up with their latency", async () => {
    const response = await checkedFetch("https://api.test/health/ready");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: "ready",
      checks: {
        postgres: { status: "up", latencyMs: expect.any(Number) },
        redis: { status: "up", latencyMs: expect.any(Number) },
      },
      rateLimiter: {
        failMode: "open",
        status: expect.stringMatching(/^(ok|degraded)$/),
        since: expect.toBeOneOf([null, expect.any(String)]),
      },
      model: { status: "configured", model: "gpt-4o-mini" },
      email: { status: "configured" },
    });
  });

  it("says when no model is configured (production without OPENAI_API_KEY answers with the statistical engine)", async () => {
    const response = await readyWith({ OPENAI_API_KEY: undefined } as Partial<Cloudflare.Env>);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ready", model: { status: "not_configured", model: null } });
  });

  it("answers 503 naming Postgres when its gateway is gone", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const response = await readyWith({ NEON_FETCH_ENDPOINT: `${deadUrl}/sql` });
    const body = await expectProblem(response, 503, "DEPENDENCY_UNAVAILABLE");
    expect(body.detail).toBe("Not ready: postgres is down.");
    expect(response.headers.get("Retry-After")).toBe("5");
    expect(body.checks).toEqual({
      postgres: { status: "down", latencyMs: expect.any(Number), error: "unreachable" },
      redis: { status: "up", latencyMs: expect.any(Number) },
    });
  });

  it("answers 503 naming Redis when its gateway is gone", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const response = await readyWith({ UPSTASH_REDIS_REST_URL: deadUrl });
    const body = await expectProblem(response, 503, "DEPENDENCY_UNAVAILABLE");
    expect(body.detail).toBe("Not ready: redis is down.");
    expect(body.checks).toMatchObject({ postgres: { status: "up" }, redis: { status: "down", error: "unreachable" } });
  });

  it("answers 503 naming both, and logs why each is down", async () => {
    const warned = vi.spyOn(console, "warn").mockImplementation(() => {});
    const response = await readyWith({ NEON_FETCH_ENDPOINT: `${deadUrl}/sql`, UPSTASH_REDIS_REST_URL: deadUrl, LOG_LEVEL: "warn" });
    const body = await expectProblem(response, 503, "DEPENDENCY_UNAVAILABLE");
    expect(body.detail).toBe("Not ready: postgres and redis are down.");
    // Every warning is a JSON line; the ones about a dependency name it (others, such as the start-up notice, do not).
    const lines = warned.mock.calls.map(([line]) => JSON.parse(String(line)) as { dependency?: string });
    const dependencies = lines.flatMap((line) => (line.dependency ? [line.dependency] : []));
    expect(dependencies.sort()).toEqual(["postgres", "redis"]);
  });

  it("reports a wrong database password as Postgres down, without the password", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const url = new URL(env.DATABASE_URL);
    url.password = "definitely-wrong-password";
    const response = await readyWith({ DATABASE_URL: url.toString() });
    const body = await expectProblem(response, 503, "DEPENDENCY_UNAVAILABLE");
    expect(body.checks).toMatchObject({ postgres: { status: "down", error: "error" } });
    expect(JSON.stringify(body)).not.toContain("definitely-wrong-password");
  });
});
