// The audit queues' consumers, called directly: a batch becomes rows, a redelivered batch writes nothing twice, and what cannot be
// written (junk, or a row Postgres refuses after every retry) is kept in R2 rather than dropped.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { inArray } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { auditLogs } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";
import { deadLetterKey } from "../../src/queues/audit/dead-letter.ts";

const row = (action: string) => ({
  id: crypto.randomUUID(),
  at: new Date().toISOString(),
  requestId: crypto.randomUUID(),
  actorType: "anonymous",
  actorId: null,
  apiKeyId: null,
  orgId: null,
  action,
  targetType: null,
  targetId: null,
  method: "POST",
  route: "/api/v1/auth/signin",
  status: 401,
  durationMs: 12,
  ip: null,
  userAgent: "test",
  errorCode: "INVALID_CREDENTIALS",
});

async function deliver(bodies: unknown[], queue = "datacrafted-audit") {
  const ids = bodies.map((_, i) => `audit-${i}-${crypto.randomUUID()}`);
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({ id: ids[i]!, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return { ids, result: await getQueueResult(batch, ctx) };
}

const kept = async (messageId: string) => {
  const object = await env.DATASETS.get(deadLetterKey(messageId));
  return object ? ((await object.json()) as { reason: string; body: unknown }) : null;
};

describe("queue(): audit rows", () => {
  it("writes a batch in one go, once however often it is delivered, and keeps what is not a row in R2", async () => {
    const rows = [row("signIn"), row("signIn"), row("signUp")];
    const first = await deliver([...rows, { id: 42 }, "junk"]);
    expect([...first.result.explicitAcks].sort()).toEqual([...first.ids].sort());
    expect(first.result.retryMessages).toEqual([]);
    expect(await kept(first.ids[3]!)).toMatchObject({ reason: "not an audit row", body: { id: 42 } });
    expect(await kept(first.ids[4]!)).toMatchObject({ reason: "not an audit row", body: "junk" });
    expect(await kept(first.ids[0]!)).toBeNull();
    await deliver(rows);
    const stored = await createDb(env)
      .select()
      .from(auditLogs)
      .where(
        inArray(
          auditLogs.id,
          rows.map((r) => r.id),
        ),
      );
    expect(stored.map((r) => r.action).sort()).toEqual(["signIn", "signIn", "signUp"]);
    expect(stored[0]!.at).toBeInstanceOf(Date);
  });

  it("retries a batch Postgres refuses; its dead letters are written row by row and the refused row is kept in R2", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    // Postgres refuses a NUL in text: one such row fails the whole batch insert.
    const good = row("signIn");
    const bad = { ...row("signIn"), userAgent: "nul\u0000agent" };
    const failed = await deliver([good, bad]);
    expect(failed.result.explicitAcks).toEqual([]);
    expect(failed.result.retryMessages.map((m: { msgId: string }) => m.msgId).sort()).toEqual([...failed.ids].sort());

    const dead = await deliver([good, bad], "datacrafted-audit-dlq");
    expect([...dead.result.explicitAcks].sort()).toEqual([...dead.ids].sort());
    const stored = await createDb(env)
      .select()
      .from(auditLogs)
      .where(inArray(auditLogs.id, [good.id, bad.id]));
    expect(stored.map((r) => r.id)).toEqual([good.id]);
    const record = await kept(dead.ids[1]!);
    expect(record?.reason).toMatch(/^insert failed/);
    expect(record?.body).toMatchObject({ id: bad.id });
    vi.restoreAllMocks();
  });
});
