// The webhook queue's messages: an event to fan out to its organization's endpoints, or one attempt of one delivery.
import { z } from "zod";
import { webhookEventTypes } from "../../db/schema.ts";

export const WebhookMessage = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("event"),
    eventId: z.string().regex(/^msg_[0-9a-f]{32}$/),
    orgId: z.uuid(),
    type: z.enum(webhookEventTypes),
    data: z.record(z.string(), z.unknown()),
    occurredAt: z.iso.datetime(),
  }),
  /** Attempt `attempt` of delivery `deliveryId`: a duplicate message (its attempt already made) changes nothing. */
  z.object({ kind: z.literal("delivery"), deliveryId: z.uuid(), attempt: z.number().int().min(1) }),
]);
export type WebhookMessage = z.infer<typeof WebhookMessage>;
