// Usage through the Worker: the daily rollups equal the calls a test made, who may read them, ranges and pages by day.
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { usageDaily } from "../../../src/db/schema.ts";
import { turnCostTokens } from "../../../src/services/chat/context.ts";
import { addMember, BASE, type CallOptions, call, checkedFetch, json, person, randomIp, team } from "../../support/harness.ts";
import { analyse, dataOf, readSse, salesCsv, scenario, stubRequests, validAnswer } from "../../support/analysis.ts";
import { createSource, postgresBody } from "../../support/data-sources.ts";
import { eventually } from "../../support/eventually.ts";
import { expectProblem } from "../../support/problem.ts";

interface UsageDay {
  day: string;
  requests: number;
  llmCalls: number;
  promptTokens: number;
  completionTokens: number;
  llmUnits: number;
  rowsLoaded: number;
  storageBytes: number;
  dataSourceQueries: number;
}
interface UsagePage {
  data: UsageDay[];
  nextCursor: string | null;
  budget: { units: number; spent: number; resetsAt: string };
}

const today = () => new Date().toISOString().slice(0, 10);
const usage = (token: string, slug: string, query = "") => call(`/api/v1/orgs/${slug}/usage${query}`, { token });

/** The organization's rollup for today, read from Postgres (polling the API would count the polls). */
async function rollupOf(orgId: string) {
  const [row] = await createDb(env)
    .select()
    .from(usageDaily)
    .where(and(eq(usageDaily.orgId, orgId), eq(usageDaily.day, today())));
  return row;
}

describe("GET /orgs/{slug}/usage", () => {
  it("counts exactly the requests, model calls and tokens, units, rows, bytes and data-source queries a test made", async () => {
    const owner = await person("use-o");
    const slug = await team(owner);
    let made = 1; // POST /orgs acted in the new organization
    /** Every request of this test in the organization goes through here, so `made` is what it sent. */
    const inOrg = (path: string, options: CallOptions = {}) => {
      made++;
      return call(path, { token: owner.token, ...options });
    };
    const org = await json<{ id: string }>(await inOrg(`/api/v1/orgs/${slug}`), 200);

    const name = `usage-${crypto.randomUUID()}`;
    await scenario(name, [{ content: validAnswer, chunkSize: 40 }]);
    const projectId = (
      await json<{ id: string }>(await inOrg("/api/v1/projects", { method: "POST", body: { name: "Usage", org: slug } }), 201)
    ).id;
    const csv = salesCsv(60);
    made++;
    const uploaded = await json<{ id: string; sizeBytes: number }>(
      await checkedFetch(`${BASE}/api/v1/projects/${projectId}/datasets?name=${encodeURIComponent(name)}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${owner.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": randomIp() },
        body: csv,
      }),
      201,
    );
    expect(uploaded.sizeBytes).toBe(new TextEncoder().encode(csv).length);
    const sessionId = (
      await json<{ id: string }>(await inOrg("/api/v1/sessions", { method: "POST", body: { datasetId: uploaded.id } }), 201)
    ).id;
    // The store loads through the queue: wait for it, every poll a request of its own.
    const loaded = await eventually(
      async () => (await json<{ query: { status: string } }>(await inOrg(`/api/v1/datasets/${uploaded.id}`), 200)).query.status,
      (status) => status === "ready",
    );
    expect(loaded).toBe("ready");

    made++;
    const { events } = await readSse(await analyse(owner, sessionId));
    const analysisId = dataOf<{ analysisId: string }>(events.at(-1)!).analysisId;
    const analysis = await json<{ status: string; usage: { promptTokens: number; completionTokens: number } }>(
      await inOrg(`/api/v1/analyses/${analysisId}`),
      200,
    );
    expect(analysis.status).toBe("succeeded");
    const question = `Which region sells most? ${name}`;
    const reply = await json<{ usage: { promptTokens: number; completionTokens: number } }>(
      await inOrg(`/api/v1/sessions/${sessionId}/chat`, { method: "POST", body: { message: question } }),
      201,
    );

    const source = await createSource(owner, slug, postgresBody());
    made++;
    await json(
      await inOrg(`/api/v1/orgs/${slug}/data-sources/${source.id}/query`, { method: "POST", body: { sql: "SELECT 1 AS one" } }),
      200,
    );

    // Every model request carried the dataset's unique name (the analysis prompt names it, the chat question quotes it).
    const modelCalls = (await stubRequests(name)).length;
    expect(modelCalls).toBeGreaterThanOrEqual(2);
    const expected = {
      requests: made,
      llmCalls: modelCalls,
      promptTokens: analysis.usage.promptTokens + reply.usage.promptTokens,
      completionTokens: analysis.usage.completionTokens + reply.usage.completionTokens,
      // What the llm bucket charged: 8,000 tokens for an analysis without a question, the turn's estimate for chat.
      llmUnits: 8 + Math.max(1, Math.ceil(turnCostTokens(question) / 1_000)),
      rowsLoaded: 60,
      storageBytes: uploaded.sizeBytes,
      dataSourceQueries: 1,
    };
    const row = await eventually(
      () => rollupOf(org.id),
      (found) => found?.requests === expected.requests && found.llmCalls === expected.llmCalls && found.rowsLoaded === 60,
    );
    expect(row).toMatchObject(expected);

    const page = await json<UsagePage>(await usage(owner.token, slug, `?from=${today()}&to=${today()}`), 200);
    expect(page.data).toEqual([{ day: today(), ...expected }]);
    expect(page.nextCursor).toBeNull();
    expect(page.budget).toMatchObject({ units: 2_000, spent: expected.llmUnits });
    // The read is a request too, counted once it has answered.
    const after = await eventually(
      () => rollupOf(org.id),
      (found) => found?.requests === made + 1,
    );
    expect(after?.requests).toBe(made + 1);
  });

  it("answers admins and owners, 403 to members, 404 to another tenant, and pages every day of the range newest first", async () => {
    const [owner, admin, member, outsider] = [
      await person("use-ow"),
      await person("use-ad"),
      await person("use-me"),
      await person("use-x"),
    ];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    await addMember(owner, slug, member, "member");

    expect((await json<UsagePage>(await usage(admin.token, slug), 200)).data).toHaveLength(20);
    await expectProblem(await usage(member.token, slug), 403, "FORBIDDEN");
    await expectProblem(await usage(outsider.token, slug), 404, "NOT_FOUND");

    const days: string[] = [];
    let query = "?from=2026-01-01&to=2026-01-05&limit=2";
    for (let pages = 0; pages < 5; pages++) {
      const response = await usage(owner.token, slug, query);
      const page = await json<UsagePage>(response, 200);
      days.push(...page.data.map((day) => day.day));
      for (const day of page.data) expect(Object.values(day).slice(1)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      if (!page.nextCursor) {
        expect(response.headers.get("Link")).toBeNull();
        break;
      }
      expect(response.headers.get("Link")).toContain('rel="next"');
      query = `?from=2026-01-01&to=2026-01-05&limit=2&cursor=${page.nextCursor}`;
    }
    expect(days).toEqual(["2026-01-05", "2026-01-04", "2026-01-03", "2026-01-02", "2026-01-01"]);
  });

  it("refuses a malformed day, a range whose start is after its end, and a range longer than 366 days (400)", async () => {
    const owner = await person("use-400");
    for (const query of ["?from=2026-02-30", "?to=yesterday", "?from=2026-03-02&to=2026-03-01", "?from=2024-01-01&to=2026-01-01"]) {
      const problem = await expectProblem(await usage(owner.token, owner.personalOrg, query), 400, "VALIDATION_FAILED");
      expect(problem.errors?.[0]?.path).toMatch(/^query\.(from|to)$/);
    }
    await expectProblem(await usage(owner.token, owner.personalOrg, "?cursor=not-ours"), 400, "VALIDATION_FAILED");
  });
});
