// Routes while Postgres or Redis is out of reach: a 503 problem with Retry-After, never a 500, and nothing half-written.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import worker from "../../src/index.ts";
import { call, json, person, randomIp } from "../support/harness.ts";
import { expectProblem } from "../support/problem.ts";

const deadUrl = inject("deadUrl");

async function direct(path: string, overrides: Partial<Cloudflare.Env>, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const headers = new Headers(init.headers);
  headers.set("CF-Connecting-IP", randomIp());
  const response = await worker.fetch(new Request(`https://api.test${path}`, { ...init, headers }), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

afterEach(() => vi.restoreAllMocks());

describe("with Postgres out of reach", () => {
  it("answers reads and writes with 503 DEPENDENCY_UNAVAILABLE and Retry-After", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const ada = await person("pg-down");
    const down = { NEON_FETCH_ENDPOINT: `${deadUrl}/sql` };
    const auth = { Authorization: `Bearer ${ada.token}` };
    for (const [method, path, body] of [
      ["GET", "/api/v1/projects", undefined],
      ["POST", "/api/v1/projects", JSON.stringify({ name: "Never" })],
      ["POST", "/api/v1/auth/signin", JSON.stringify({ email: ada.email, password: ada.password })],
    ] as const) {
      const response = await direct(path, down, { method, body, headers: { ...auth, "Content-Type": "application/json" } });
      const problem = await expectProblem(response, 503, "DEPENDENCY_UNAVAILABLE");
      expect(problem.detail).toContain("database");
      expect(response.headers.get("Retry-After")).toBe("5");
    }
    // And once it is back, nothing was written meanwhile.
    const list = await json<{ data: { name: string }[] }>(await call("/api/v1/projects", { token: ada.token }), 200);
    expect(list.data.map((p) => p.name)).not.toContain("Never");
  });
});

describe("with Redis out of reach", () => {
  it("answers an idempotent write with 503 rather than running it unguarded", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.spyOn(console, "error").mockImplementation(() => {});
    const ada = await person("redis-down");
    const response = await direct(
      "/api/v1/projects",
      { UPSTASH_REDIS_REST_URL: deadUrl, RATE_LIMIT_FAIL_MODE: "open", RATE_LIMIT_TIMEOUT_MS: "300" },
      {
        method: "POST",
        body: JSON.stringify({ name: "Guarded" }),
        headers: { Authorization: `Bearer ${ada.token}`, "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
      },
    );
    await expectProblem(response, 503, "DEPENDENCY_UNAVAILABLE");
    const list = await json<{ data: { name: string }[] }>(await call("/api/v1/projects", { token: ada.token }), 200);
    expect(list.data.map((p) => p.name)).not.toContain("Guarded");
  });
});
