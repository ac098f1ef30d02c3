// The monthly LLM budget through the Worker: owners set it, past it analyses and chat answer 402 with when it renews,
// the statistical engine still answers, and a lost counter is seeded again from the rollups.
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { usageDaily } from "../../../src/db/schema.ts";
import { createRedis } from "../../../src/lib/redis.ts";
import { budgetKey } from "../../../src/services/usage/budget.ts";
import { addMember, BASE, call, checkedFetch, json, type Person, person, randomIp, team } from "../../support/harness.ts";
import { analyse, dataOf, readSse, salesCsv } from "../../support/analysis.ts";
import { eventually } from "../../support/eventually.ts";
import { expectProblem } from "../../support/problem.ts";

const setBudget = (who: Person, slug: string, llmMonthlyBudget: number | null) =>
  call(`/api/v1/orgs/${slug}`, { method: "PATCH", token: who.token, body: { llmMonthlyBudget } });

/** A session in organization `slug` on a freshly uploaded dataset. */
async function sessionIn(who: Person, slug: string) {
  const projectId = (
    await json<{ id: string }>(await call("/api/v1/projects", { method: "POST", token: who.token, body: { name: "B", org: slug } }), 201)
  ).id;
  const upload = await checkedFetch(`${BASE}/api/v1/projects/${projectId}/datasets?name=budget-${crypto.randomUUID()}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": randomIp() },
    body: salesCsv(30),
  });
  const datasetId = (await json<{ id: string }>(upload, 201)).id;
  return (await json<{ id: string }>(await call("/api/v1/sessions", { method: "POST", token: who.token, body: { datasetId } }), 201)).id;
}

const nextMonth = () => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
};

const finished = async (response: Response) => {
  expect(response.status).toBe(200);
  const { events } = await readSse(response);
  return dataOf<{ status: string; analysisId: string }>(events.at(-1)!);
};

describe("llmMonthlyBudget", () => {
  it("is set by owners only; past it analyses and chat answer 402 BUDGET_EXHAUSTED until the month ends, and the statistical engine answers", async () => {
    const [owner, admin] = [await person("bud-o"), await person("bud-a")];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    expect(
      (await json<{ llmMonthlyBudget: number | null }>(await call(`/api/v1/orgs/${slug}`, { token: owner.token }), 200)).llmMonthlyBudget,
    ).toBeNull();
    await expectProblem(await setBudget(admin, slug, 1), 403, "FORBIDDEN");
    await expectProblem(await setBudget(owner, slug, -1), 400, "VALIDATION_FAILED");
    expect((await json<{ llmMonthlyBudget: number }>(await setBudget(owner, slug, 1), 200)).llmMonthlyBudget).toBe(1);

    const sessionId = await sessionIn(owner, slug);
    // Under the budget when it starts: the call goes ahead (and spends 8 units, past the budget).
    expect((await finished(await analyse(owner, sessionId))).status).toBe("succeeded");

    const refused = await analyse(owner, sessionId);
    const problem = await expectProblem(refused, 402, "BUDGET_EXHAUSTED");
    expect(problem).toMatchObject({ resetsAt: nextMonth(), budget: 1, spent: 8 });
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(Math.abs(Date.now() + retryAfter * 1000 - Date.parse(nextMonth()))).toBeLessThan(5_000);
    await expectProblem(
      await call(`/api/v1/sessions/${sessionId}/chat`, {
        method: "POST",
        token: owner.token,
        body: { message: "Which region sells most?" },
      }),
      402,
      "BUDGET_EXHAUSTED",
    );

    // The no-model path is still served, by request.
    const statistical = await analyse(owner, sessionId, { engine: "statistical" });
    expect((await finished(statistical)).status).toBe("succeeded");
    const answer = await json<{ engine: string; content: string }>(
      await call(`/api/v1/sessions/${sessionId}/chat`, {
        method: "POST",
        token: owner.token,
        body: { message: "How many rows?", engine: "statistical" },
      }),
      201,
    );
    expect(answer.engine).toBe("statistical");

    const page = await json<{ budget: { units: number; spent: number; resetsAt: string } }>(
      await call(`/api/v1/orgs/${slug}/usage`, { token: admin.token }),
      200,
    );
    expect(page.budget).toEqual({ units: 1, spent: 8, resetsAt: nextMonth() });

    // A larger budget applies to the next call at once; null goes back to the tier's.
    await json(await setBudget(owner, slug, 100), 200);
    expect((await finished(await analyse(owner, sessionId))).status).toBe("succeeded");
    await json(await setBudget(owner, slug, null), 200);
    const reset = await json<{ budget: { units: number; spent: number } }>(
      await call(`/api/v1/orgs/${slug}/usage`, { token: owner.token }),
      200,
    );
    expect(reset.budget).toEqual({ units: 2_000, spent: 16, resetsAt: nextMonth() });
  });

  it("seeds a lost month counter from the daily rollups, so spend survives Redis losing it", async () => {
    const owner = await person("bud-seed");
    const slug = await team(owner);
    const org = await json<{ id: string }>(await call(`/api/v1/orgs/${slug}`, { token: owner.token }), 200);
    const sessionId = await sessionIn(owner, slug);
    expect((await finished(await analyse(owner, sessionId))).status).toBe("succeeded");
    const landed = await eventually(
      async () =>
        (
          await createDb(env)
            .select({ units: usageDaily.llmUnits })
            .from(usageDaily)
            .where(and(eq(usageDaily.orgId, org.id), eq(usageDaily.day, new Date().toISOString().slice(0, 10))))
        )[0]?.units,
      (units) => units === 8,
    );
    expect(landed).toBe(8);

    await createRedis(env).del(budgetKey(org.id));
    await json(await setBudget(owner, slug, 8), 200);
    // The counter is gone, the rollups say 8 of 8 were spent: refused.
    const problem = await expectProblem(await analyse(owner, sessionId), 402, "BUDGET_EXHAUSTED");
    expect(problem).toMatchObject({ budget: 8, spent: 8 });
  });
});
