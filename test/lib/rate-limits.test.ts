// consume() and enforce() on a route of the test's own: the cost-weighted LLM bucket (analysis and chat routes land later).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/lib/create-app.ts";
import { consume, enforce, policies } from "../../src/lib/rate-limits.ts";
import { loadConfig } from "../../src/env.ts";
import { expectProblem } from "../support/problem.ts";

function llmApp() {
  const app = createApp();
  app.post("/llm/:cost", async (c) => {
    enforce(c, await consume(c, "llm", `test:${c.req.header("X-Caller")}`, Number(c.req.param("cost"))));
    return c.json({ ok: true });
  });
  return app;
}

describe("the LLM bucket", () => {
  it("spends cost units, not requests", async () => {
    const app = llmApp();
    const caller = crypto.randomUUID();
    const spend = (cost: number) =>
      app.request(`/llm/${cost}`, { method: "POST", headers: { "X-Caller": caller } }, { ...env, RATE_LIMIT_LLM: "60" });
    const first = await spend(25);
    expect(first.status).toBe(200);
    expect(first.headers.get("RateLimit")).toMatch(/^"llm";r=35;t=\d+$/);
    expect((await spend(25)).headers.get("RateLimit")).toMatch(/^"llm";r=10;/);
    const refused = await spend(25);
    expect((await expectProblem(refused, 429, "RATE_LIMITED")).policy).toBe("llm");
    expect(refused.headers.get("RateLimit-Policy")).toBe('"llm";q=60;w=60');
  });
});

describe("the policy table", () => {
  it("takes tier quotas from configuration and keeps the auth buckets tight", () => {
    const loaded = loadConfig({ ...env, RATE_LIMIT_FREE: "7", RATE_LIMIT_PRO: "70", RATE_LIMIT_ENTERPRISE: "700" });
    if (!loaded.ok) throw new Error(loaded.problems.join("; "));
    const table = policies(loaded.config);
    expect([table.free.quota, table.pro.quota, table.enterprise.quota]).toEqual([7, 70, 700]);
    expect(table["signin-email"].quota).toBeLessThan(table["signin-ip"].quota);
    expect(table["signup-ip"]).toMatchObject({ quota: 10, windowSeconds: 3_600 });
  });
});
