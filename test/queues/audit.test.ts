// The audit queue's consumer, called directly: a batch becomes rows, a redelivered batch writes nothing twice, junk is dropped.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { auditLogs } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";

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

async function deliver(bodies: unknown[]) {
  const batch = createMessageBatch("datacrafted-audit", bodies.map((body, i) => ({ id: `audit-${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })));
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("queue(): audit rows", () => {
  it("writes a batch in one go, once however often it is delivered, and drops what is not a row", async () => {
    const rows = [row("signIn"), row("signIn"), row("signUp")];
    const first = await deliver([...rows, { id: 42 }, "junk"]);
    expect(first.ackAll).toBe(true);
    expect(first.retryBatch.retry).toBe(false);
    await deliver(rows);
    const stored = await createDb(env).select().from(auditLogs).where(inArray(auditLogs.id, rows.map((r) => r.id)));
    expect(stored.map((r) => r.action).sort()).toEqual(["signIn", "signIn", "signUp"]);
    expect(stored[0]!.at).toBeInstanceOf(Date);
  });
});
