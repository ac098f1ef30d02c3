// The usage queue's consumer, called directly: a batch is summed by organization and day, a redelivered message adds
// nothing again, junk is dropped, and counts for an organization purged meanwhile are skipped rather than failing the batch.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { organizations, usageDaily } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";

async function deliver(messages: { id: string; body: unknown }[]) {
  const batch = createMessageBatch(
    "datacrafted-usage",
    messages.map(({ id, body }) => ({ id, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

async function newOrg() {
  const id = crypto.randomUUID();
  await createDb(env)
    .insert(organizations)
    .values({ id, slug: `usage-${id.slice(0, 8)}`, name: "Usage" });
  return id;
}

const rollups = async (orgId: string) =>
  (await createDb(env).select().from(usageDaily).where(eq(usageDaily.orgId, orgId))).sort((a, b) => a.day.localeCompare(b.day));

describe("queue(): usage counts", () => {
  it("sums a batch by organization and day, once however often a message is delivered", async () => {
    const [a, b] = [await newOrg(), await newOrg()];
    const id = () => `usage-${crypto.randomUUID()}`;
    const messages = [
      { id: id(), body: { orgId: a, at: "2026-11-20T10:00:00.000Z", counts: { requests: 1, llmUnits: 8 } } },
      {
        id: id(),
        body: { orgId: a, at: "2026-11-20T23:59:59.999Z", counts: { requests: 1, promptTokens: 120, completionTokens: 30, llmCalls: 1 } },
      },
      { id: id(), body: { orgId: a, at: "2026-11-21T00:00:00.000Z", counts: { rowsLoaded: 60 } } },
      { id: id(), body: { orgId: b, at: "2026-11-20T12:00:00.000Z", counts: { requests: 3, storageBytes: 2048, dataSourceQueries: 2 } } },
      { id: id(), body: { orgId: a, at: "not a time", counts: { requests: 1 } } },
      { id: id(), body: "junk" },
    ];
    const first = await deliver(messages);
    expect([...first.explicitAcks].sort()).toEqual(messages.map((message) => message.id).sort());
    expect(first.retryMessages).toEqual([]);
    // The first two again (a redelivery), with one new message.
    const late = { id: id(), body: { orgId: a, at: "2026-11-20T11:00:00.000Z", counts: { requests: 1 } } };
    await deliver([messages[0]!, messages[1]!, late]);

    expect((await rollups(a)).map(({ updatedAt: _, orgId: __, ...row }) => row)).toEqual([
      {
        day: "2026-11-20",
        requests: 3,
        llmCalls: 1,
        promptTokens: 120,
        completionTokens: 30,
        llmUnits: 8,
        rowsLoaded: 0,
        storageBytes: 0,
        dataSourceQueries: 0,
      },
      {
        day: "2026-11-21",
        requests: 0,
        llmCalls: 0,
        promptTokens: 0,
        completionTokens: 0,
        llmUnits: 0,
        rowsLoaded: 60,
        storageBytes: 0,
        dataSourceQueries: 0,
      },
    ]);
    expect(await rollups(b)).toMatchObject([{ day: "2026-11-20", requests: 3, storageBytes: 2048, dataSourceQueries: 2 }]);
  });

  it("skips the counts of an organization that no longer exists and writes the rest", async () => {
    const [kept, gone] = [await newOrg(), crypto.randomUUID()];
    const result = await deliver([
      { id: `usage-${crypto.randomUUID()}`, body: { orgId: gone, at: "2026-11-20T10:00:00.000Z", counts: { requests: 5 } } },
      { id: `usage-${crypto.randomUUID()}`, body: { orgId: kept, at: "2026-11-20T10:00:00.000Z", counts: { requests: 2 } } },
    ]);
    expect(result.retryMessages).toEqual([]);
    expect(await rollups(gone)).toEqual([]);
    expect(await rollups(kept)).toMatchObject([{ requests: 2 }]);
  });
});
