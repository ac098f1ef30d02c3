// The webhook delivery-log purge, driven through the Worker's scheduled() handler, against the real database.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { organizations, webhookDeliveries, webhookEndpoints } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";
import { person } from "../support/harness.ts";

const db = () => createDb(env);

describe("scheduled(): purge of the webhook delivery log", () => {
  it("deletes deliveries finished over RETENTION_DAYS ago, keeps recent and pending ones", async () => {
    const owner = await person("cron-hooks");
    const [org] = await db().select({ id: organizations.id }).from(organizations).where(eq(organizations.slug, owner.personalOrg));
    const endpointId = crypto.randomUUID();
    await db()
      .insert(webhookEndpoints)
      .values({
        id: endpointId,
        orgId: org!.id,
        url: "https://hooks.example.com/x",
        events: ["dataset.ready"],
        secret: "v1.x.y.z",
        keyId: "x",
      });
    const delivery = (status: "pending" | "succeeded" | "dead", finishedDaysAgo: number | null) => ({
      id: crypto.randomUUID(),
      endpointId,
      orgId: org!.id,
      eventId: `msg_${crypto.randomUUID().replaceAll("-", "")}`,
      eventType: "dataset.ready" as const,
      payload: { type: "dataset.ready" },
      status,
      finishedAt: finishedDaysAgo === null ? null : sql`now() - make_interval(days => ${finishedDaysAgo})`,
    });
    // RETENTION_DAYS is 30 by default.
    const rows = [delivery("succeeded", 31), delivery("dead", 31), delivery("succeeded", 29), delivery("pending", null)];
    await db()
      .insert(webhookDeliveries)
      .values(rows as (typeof webhookDeliveries.$inferInsert)[]);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/15 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const left = await db()
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.endpointId, endpointId));
    expect(left.map((row) => row.id).sort()).toEqual([rows[2]!.id, rows[3]!.id].sort());
  });
});
