// The recovery job through scheduled(): a running analysis whose heartbeat stopped goes back on the queue and finishes;
// one out of attempts fails for good; a live one is left alone.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { analyses } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";
import { call, json, person } from "../support/harness.ts";
import { analyse, dataOf, readSse, sessionOn } from "../support/analysis.ts";
import { eventually } from "../support/eventually.ts";

const db = () => createDb(env);

async function runScheduled() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/15 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

const statusOf = async (token: string, id: string) =>
  json<{ status: string; attempts: number; error: { code: string } | null }>(await call(`/api/v1/analyses/${id}`, { token }), 200);

describe("scheduled(): recovery of analysis jobs", () => {
  it("requeues a job whose heartbeat stopped, fails one out of attempts, leaves a live one alone", async () => {
    const ada = await person("ada");
    const { sessionId } = await sessionOn(ada, `sales-${crypto.randomUUID()}`);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { events } = await readSse(await analyse(ada, sessionId, { engine: "statistical" }));
      ids.push(dataOf<{ analysisId: string }>(events.at(-1)!).analysisId);
    }
    const [stuck, exhausted, alive] = ids as [string, string, string];
    // As a Worker evicted mid-job leaves them: running, heartbeat long silent (or, for the live one, fresh).
    const running = { status: "running" as const, summary: null, finishedAt: null };
    await db()
      .update(analyses)
      .set({ ...running, attempts: 1, heartbeatAt: sql`now() - interval '10 minutes'` })
      .where(eq(analyses.id, stuck));
    await db()
      .update(analyses)
      .set({ ...running, attempts: 4, heartbeatAt: sql`now() - interval '10 minutes'` })
      .where(eq(analyses.id, exhausted));
    await db()
      .update(analyses)
      .set({ ...running, attempts: 1, heartbeatAt: sql`now()` })
      .where(eq(analyses.id, alive));

    await runScheduled();
    expect(await statusOf(ada.token, exhausted)).toMatchObject({ status: "failed", error: { code: "ANALYSIS_ABANDONED" } });
    expect((await statusOf(ada.token, alive)).status).toBe("running");
    // The requeued job is taken by the queue consumer and finishes on its second attempt.
    const recovered = await eventually(
      () => statusOf(ada.token, stuck),
      (analysis) => analysis.status === "succeeded",
      { intervalMs: 200 },
    );
    expect(recovered).toMatchObject({ status: "succeeded", attempts: 2 });
  });
});
