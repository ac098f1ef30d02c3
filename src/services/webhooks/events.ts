// Emitting a webhook event: one queue message, no Postgres round trip on the caller's path; the webhook consumer finds the
// organization's subscribed endpoints and delivers (src/queues/webhooks).
import type { Context } from "hono";
import type { WebhookEventType } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import { describeError, type Logger } from "../../lib/logger.ts";
import type { AppEnv } from "../../lib/types.ts";
import { waitUntil } from "../../lib/wait-until.ts";
import type { WebhookMessage } from "../../queues/webhooks/message.ts";

/** A request's context (sent after the response), or a queue consumer's configuration and logger (awaited). */
type Emitter = Context<AppEnv> | { config: Config; logger: Logger };

/** `msg_` and 32 hex digits: the `webhook-id` every delivery of this event carries. */
export const newEventId = () => `msg_${crypto.randomUUID().replaceAll("-", "")}`;

/** Emits `type` with `data` to organization `orgId`'s endpoints. Never fails the caller: a refused send is logged. */
export async function emitEvent(from: Emitter, orgId: string, type: WebhookEventType, data: Record<string, unknown>): Promise<void> {
  const request = "req" in from;
  const config = request ? from.get("config") : from.config;
  const logger = request ? from.get("logger") : from.logger;
  const message: WebhookMessage = { kind: "event", eventId: newEventId(), orgId, type, data, occurredAt: new Date().toISOString() };
  const sent = config.WEBHOOK_QUEUE.send(message, { contentType: "json" }).catch((error: unknown) =>
    logger.error("webhook event not queued", { type, orgId, ...describeError(error) }),
  );
  if (request) waitUntil(from, sent);
  else await sent;
}
