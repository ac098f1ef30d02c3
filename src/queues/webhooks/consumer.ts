// The webhook queue's consumer: an event becomes one delivery row per subscribed endpoint (and their first attempts);
// a delivery message is one attempt (src/services/webhooks/deliver.ts). The dead-letter consumer ends what never ran.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { webhookDeliveries, webhookEndpoints } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { attemptDelivery, attemptMessage } from "../../services/webhooks/deliver.ts";
import { WebhookMessage } from "./message.ts";

/** The same event to the same endpoint is the same delivery: a fan-out delivered twice inserts nothing the second time. */
async function deliveryIdFor(eventId: string, endpointId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${eventId}:${endpointId}`)));
  const hex = [...digest.slice(0, 16)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

async function fanOut(event: Extract<WebhookMessage, { kind: "event" }>, config: Config, db: Database): Promise<void> {
  const endpoints = await db
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.orgId, event.orgId),
        eq(webhookEndpoints.enabled, true),
        sql`${event.type} = ANY(${webhookEndpoints.events})`,
      ),
    );
  if (endpoints.length === 0) return;
  const payload = { type: event.type, timestamp: event.occurredAt, data: event.data };
  const rows = await Promise.all(
    endpoints.map(async (endpoint) => ({
      id: await deliveryIdFor(event.eventId, endpoint.id),
      endpointId: endpoint.id,
      orgId: event.orgId,
      eventId: event.eventId,
      eventType: event.type,
      payload,
      nextAttemptAt: new Date(),
    })),
  );
  await db.insert(webhookDeliveries).values(rows).onConflictDoNothing({ target: webhookDeliveries.id });
  // First attempts for those not yet tried (a repeated fan-out resends only what the first did not get to).
  const untried = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        inArray(
          webhookDeliveries.id,
          rows.map((row) => row.id),
        ),
        eq(webhookDeliveries.attempts, 0),
        eq(webhookDeliveries.status, "pending"),
      ),
    );
  for (let i = 0; i < untried.length; i += 100) {
    await config.WEBHOOK_QUEUE.sendBatch(untried.slice(i, i + 100).map(({ id }) => ({ body: attemptMessage(id, 1), contentType: "json" })));
  }
}

export async function handleWebhookMessage(message: Message<unknown>, config: Config, db: Database, logger: Logger): Promise<void> {
  const parsed = WebhookMessage.safeParse(message.body);
  if (!parsed.success) {
    logger.error("webhook message malformed; dropped", { messageId: message.id });
    message.ack();
    return;
  }
  if (parsed.data.kind === "event") await fanOut(parsed.data, config, db);
  else await attemptDelivery(config, db, logger, parsed.data.deliveryId, parsed.data.attempt);
  message.ack();
}

/** Messages the consumer failed on every retry (Postgres down, most likely): a delivery ends dead with that said. */
export async function handleWebhookDeadLetter(message: Message<unknown>, _config: Config, db: Database, logger: Logger): Promise<void> {
  const parsed = WebhookMessage.safeParse(message.body);
  if (parsed.success && parsed.data.kind === "delivery") {
    await db
      .update(webhookDeliveries)
      .set({
        status: "dead",
        lastError: "the delivery could not be processed",
        nextAttemptAt: null,
        finishedAt: new Date(),
        updatedAt: new Date(),
      })
      .where(and(eq(webhookDeliveries.id, parsed.data.deliveryId), eq(webhookDeliveries.status, "pending")));
  } else if (parsed.success && parsed.data.kind === "event") {
    logger.error("webhook event dead-lettered: not delivered to any endpoint", { eventId: parsed.data.eventId, type: parsed.data.type });
  }
  message.ack();
}
