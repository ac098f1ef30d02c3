// Webhook endpoints: the secret is sealed at rest (it must be read to sign) and shown only when created or rotated.
import { and, eq } from "drizzle-orm";
import { webhookDeliveries, webhookEndpoints, type WebhookEventType } from "../../db/schema.ts";
import { etagged, etagOf, expectedVersion } from "../../lib/etag.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { userOf } from "../../lib/principal.ts";
import { ApiError } from "../../lib/problem.ts";
import { type Organization, requireOrg } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { versionedWrite } from "../../lib/versioned-write.ts";
import { encryptSecret, keyIdOf } from "../../services/data-sources/secrets.ts";
import { attemptMessage } from "../../services/webhooks/deliver.ts";
import { secretRecord } from "../../services/webhooks/secret-record.ts";
import { newWebhookSecret } from "../../services/webhooks/signature.ts";
import { parseWebhookUrl, urlPolicyOf } from "../../services/webhooks/url.ts";
import type { Context } from "hono";
import type { AppEnv } from "../../lib/types.ts";
import type * as routes from "./webhooks.routes.ts";

type Endpoint = typeof webhookEndpoints.$inferSelect;
type Delivery = typeof webhookDeliveries.$inferSelect;
const iso = (date: Date | null) => date?.toISOString() ?? null;

const present = (row: Endpoint, org: Organization) => ({
  id: row.id,
  org: org.slug,
  url: row.url,
  description: row.description,
  events: row.events,
  enabled: row.enabled,
  disabledReason: row.disabledReason,
  previousSecretExpiresAt:
    row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date() ? row.previousSecretExpiresAt.toISOString() : null,
  createdBy: row.createdBy,
  updatedBy: row.updatedBy,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

const presentDelivery = (row: Delivery) => ({
  id: row.id,
  endpointId: row.endpointId,
  eventId: row.eventId,
  eventType: row.eventType,
  status: row.status,
  attempts: row.attempts,
  lastStatusCode: row.lastStatusCode,
  lastLatencyMs: row.lastLatencyMs,
  lastError: row.lastError,
  lastAttemptAt: iso(row.lastAttemptAt),
  nextAttemptAt: iso(row.nextAttemptAt),
  redeliveryOf: row.redeliveryOf,
  payload: row.payload,
  createdAt: row.createdAt.toISOString(),
  finishedAt: iso(row.finishedAt),
});

/** Each event once, in the documented order. */
const uniqueEvents = (events: WebhookEventType[]) => [...new Set(events)];

/** Endpoint `id` of organization `slug`, for a caller allowed `action` there; another tenant's is a 404 like a missing one. */
async function requireEndpoint(c: Context<AppEnv>, slug: string, id: string, action: "webhooks:read" | "webhooks:manage") {
  const { org } = await requireOrg(c, slug, action);
  const [endpoint] = await c
    .get("services")
    .db.select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.orgId, org.id)));
  if (!endpoint) throw new ApiError(404, { detail: "No webhook endpoint with this id is visible to you." });
  return { org, endpoint };
}

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { slug } = c.req.valid("param");
  const { limit, cursor } = c.req.valid("query");
  const page = keyset(webhookEndpoints.createdAt, webhookEndpoints.id, cursor);
  const { org } = await requireOrg(c, slug, "webhooks:read");
  const rows = await c
    .get("services")
    .db.select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.orgId, org.id), page.after))
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.createdAt, id: row.id }));
  return c.json({ data: data.map((row) => present(row, org)), nextCursor }, 200);
};

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { slug } = c.req.valid("param");
  const body = c.req.valid("json");
  const { userId } = userOf(c);
  const { org } = await requireOrg(c, slug, "webhooks:manage");
  const url = parseWebhookUrl(body.url, urlPolicyOf(c.get("config")));
  const id = crypto.randomUUID();
  const secret = newWebhookSecret();
  const sealed = await encryptSecret(c.get("config").DATA_SOURCE_KEYS, secretRecord(id), secret);
  const [row] = await c
    .get("services")
    .db.insert(webhookEndpoints)
    .values({
      id,
      orgId: org.id,
      url,
      description: body.description ?? null,
      events: uniqueEvents(body.events),
      secret: sealed,
      keyId: keyIdOf(sealed),
      createdBy: userId,
      updatedBy: userId,
    })
    .returning();
  c.header("Cache-Control", "no-store");
  c.header("Location", `/api/v1/orgs/${org.slug}/webhooks/${id}`);
  c.set("auditTarget", { type: "webhooks", id });
  return c.json({ ...present(row!, org), secret }, 201);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { org, endpoint } = await requireEndpoint(c, slug, id, "webhooks:read");
  return etagged(c, etagOf(endpoint.version), () => c.json(present(endpoint, org), 200));
};

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const body = c.req.valid("json");
  const { org, endpoint } = await requireEndpoint(c, slug, id, "webhooks:manage");
  const expected = expectedVersion(c, endpoint.version);
  const changes: Partial<typeof webhookEndpoints.$inferInsert> = {};
  if (body.url !== undefined) changes.url = parseWebhookUrl(body.url, urlPolicyOf(c.get("config")));
  if (body.events !== undefined) changes.events = uniqueEvents(body.events);
  if (body.description !== undefined) changes.description = body.description;
  // Enabling again (after a 410, say) clears the reason it stopped.
  if (body.enabled !== undefined) Object.assign(changes, { enabled: body.enabled, disabledReason: null });
  const updated = await versionedWrite(c, webhookEndpoints, { id, noun: "webhook endpoint" }, expected, changes);
  c.header("ETag", etagOf(updated.version));
  return c.json(present(updated, org), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { endpoint } = await requireEndpoint(c, slug, id, "webhooks:manage");
  const expected = expectedVersion(c, endpoint.version);
  const [deleted] = await c
    .get("services")
    .db.delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), expected === undefined ? undefined : eq(webhookEndpoints.version, expected)))
    .returning({ id: webhookEndpoints.id });
  if (!deleted)
    throw new ApiError(412, { detail: "The webhook endpoint changed while this request was on its way; fetch it again and retry." });
  return c.body(null, 204);
};

export const rotateSecret: AppRouteHandler<typeof routes.rotateSecret> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { org, endpoint } = await requireEndpoint(c, slug, id, "webhooks:manage");
  const config = c.get("config");
  const secret = newWebhookSecret();
  const sealed = await encryptSecret(config.DATA_SOURCE_KEYS, secretRecord(id), secret);
  // The secret it replaces keeps signing (a second v1 signature) for the grace period, so receivers can switch over.
  const updated = await versionedWrite(c, webhookEndpoints, { id, noun: "webhook endpoint" }, endpoint.version, {
    secret: sealed,
    keyId: keyIdOf(sealed),
    previousSecret: endpoint.secret,
    previousSecretExpiresAt: new Date(Date.now() + config.WEBHOOK_SECRET_GRACE_SECONDS * 1000),
  });
  c.header("Cache-Control", "no-store");
  return c.json({ ...present(updated, org), secret }, 200);
};

export const listDeliveries: AppRouteHandler<typeof routes.listDeliveries> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { limit, cursor, status } = c.req.valid("query");
  const page = keyset(webhookDeliveries.createdAt, webhookDeliveries.id, cursor);
  const { endpoint } = await requireEndpoint(c, slug, id, "webhooks:read");
  const rows = await c
    .get("services")
    .db.select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.endpointId, endpoint.id), status ? eq(webhookDeliveries.status, status) : undefined, page.after))
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.createdAt, id: row.id }));
  return c.json({ data: data.map(presentDelivery), nextCursor }, 200);
};

export const redeliver: AppRouteHandler<typeof routes.redeliver> = async (c) => {
  const { slug, id, deliveryId } = c.req.valid("param");
  const { endpoint } = await requireEndpoint(c, slug, id, "webhooks:manage");
  const db = c.get("services").db;
  const [original] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpoint.id)));
  if (!original) throw new ApiError(404, { detail: "No delivery with this id on this endpoint." });
  if (!endpoint.enabled)
    throw new ApiError(409, { code: "CONFLICT", detail: "The endpoint is disabled: enable it (PATCH) before redelivering." });
  // A new delivery of the same event: the same webhook-id and body, so a receiver that saw it already can tell.
  const [copy] = await db
    .insert(webhookDeliveries)
    .values({
      id: crypto.randomUUID(),
      endpointId: endpoint.id,
      orgId: endpoint.orgId,
      eventId: original.eventId,
      eventType: original.eventType,
      payload: original.payload,
      nextAttemptAt: new Date(),
      redeliveryOf: original.id,
    })
    .returning();
  try {
    await c.get("config").WEBHOOK_QUEUE.send(attemptMessage(copy!.id, 1), { contentType: "json" });
  } catch (error) {
    await db.delete(webhookDeliveries).where(eq(webhookDeliveries.id, copy!.id));
    throw new ApiError(503, {
      code: "SERVICE_UNAVAILABLE",
      detail: "The webhook queue is unavailable; retry shortly.",
      headers: { "Retry-After": "5" },
      cause: error,
    });
  }
  c.set("auditTarget", { type: "webhook-deliveries", id: copy!.id });
  return c.json(presentDelivery(copy!), 202);
};
