// Route definitions for an organization's webhook endpoints: CRUD, secret rotation, the delivery log, redelivery.
import { createRoute, z } from "@hono/zod-openapi";
import { webhookDeliveryStatuses, webhookEventTypes } from "../../db/schema.ts";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { etagResponse, ifMatchOf, Slug, SlugParam, Text, Timestamp } from "../schemas.ts";

const tags = ["Webhooks"];
const EventType = z.enum(webhookEventTypes);
const url = z.string().max(2_000).openapi({
  description:
    "Where deliveries are POSTed: https outside development and tests; loopback, private, link-local and metadata hosts are refused (DATA_SOURCE_ALLOW_PRIVATE)",
  example: "https://hooks.example.com/datacrafted",
});
const events = z.array(EventType).min(1).max(webhookEventTypes.length).openapi({ description: "The events this endpoint receives" });
const description = Text.max(500).nullable();

export const WebhookEndpoint = z
  .object({
    id: z.uuid(),
    org: Slug,
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(EventType),
    enabled: z.boolean(),
    disabledReason: z.string().nullable().openapi({ description: "Why it stopped receiving, e.g. after the receiver answered 410 Gone" }),
    previousSecretExpiresAt: Timestamp.nullable().openapi({ description: "Until then the secret before the last rotation also signs" }),
    createdBy: z.uuid().nullable(),
    updatedBy: z.uuid().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("WebhookEndpoint");

const secret = z.string().openapi({
  description: "The signing secret (`whsec_` + base64): shown in this response only. Verify deliveries with it (Standard Webhooks).",
  example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
});
export const CreatedWebhookEndpoint = WebhookEndpoint.extend({ secret }).openapi("CreatedWebhookEndpoint");

export const WebhookDelivery = z
  .object({
    id: z.uuid(),
    endpointId: z.uuid(),
    eventId: z.string().openapi({ description: "The `webhook-id` header: the same on every attempt and redelivery", example: "msg_2f1c…" }),
    eventType: EventType,
    status: z.enum(webhookDeliveryStatuses).openapi({
      description:
        "`pending` (not yet answered with a 2xx; retried with backoff), `succeeded`, or `dead` (out of retries, or the endpoint disabled)",
    }),
    attempts: z.number().int(),
    lastStatusCode: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The receiver's status on the last attempt; null when it never answered" }),
    lastLatencyMs: z.number().int().nullable(),
    lastError: z.string().nullable(),
    lastAttemptAt: Timestamp.nullable(),
    nextAttemptAt: Timestamp.nullable(),
    redeliveryOf: z.uuid().nullable(),
    payload: z.record(z.string(), z.unknown()).openapi({ description: "The body sent: `{type, timestamp, data}`" }),
    createdAt: Timestamp,
    finishedAt: Timestamp.nullable(),
  })
  .openapi("WebhookDelivery");

export const EndpointParams = z.object({ slug: Slug, id: z.uuid() });
const one = (what: string) => etagResponse(what, WebhookEndpoint);
const ifMatch = ifMatchOf("webhook endpoint");

export const list = createRoute({
  method: "get",
  path: "/orgs/{slug}/webhooks",
  operationId: "listWebhooks",
  tags,
  summary: "The organization's webhook endpoints, newest first (admins and owners)",
  ...authed,
  request: { params: SlugParam, query: PageQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(WebhookEndpoint) } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const create = createRoute({
  method: "post",
  path: "/orgs/{slug}/webhooks",
  operationId: "createWebhook",
  tags,
  summary: "Add a webhook endpoint (admins and owners); its signing secret is in this response only",
  ...authed,
  request: { params: SlugParam, body: jsonBody(z.object({ url, events, description: description.optional() }).strict()) },
  responses: {
    201: {
      description: "Created",
      headers: z.object({ Location: z.string() }),
      content: { "application/json": { schema: CreatedWebhookEndpoint } },
    },
    ...problemResponses(400, 401, 403, 404, 415, 422),
  },
});

export const get = createRoute({
  method: "get",
  path: "/orgs/{slug}/webhooks/{id}",
  operationId: "getWebhook",
  tags,
  summary: "One webhook endpoint (If-None-Match answers 304)",
  ...authed,
  request: { params: EndpointParams },
  responses: { 200: one("The endpoint"), 304: { description: "Not modified" }, ...problemResponses(400, 401, 403, 404) },
});

export const update = createRoute({
  method: "patch",
  path: "/orgs/{slug}/webhooks/{id}",
  operationId: "updateWebhook",
  tags,
  summary: "Change the URL, events or description, or enable/disable it (admins and owners; If-Match makes it conditional)",
  ...authed,
  request: {
    params: EndpointParams,
    headers: ifMatch,
    body: jsonBody(z.object({ url, events, description, enabled: z.boolean() }).partial().strict()),
  },
  responses: { 200: one("Updated"), ...problemResponses(400, 401, 403, 404, 412, 415, 422) },
});

export const remove = createRoute({
  method: "delete",
  path: "/orgs/{slug}/webhooks/{id}",
  operationId: "deleteWebhook",
  tags,
  summary: "Delete a webhook endpoint and its delivery log (admins and owners)",
  ...authed,
  request: { params: EndpointParams, headers: ifMatch },
  responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 404, 412) },
});

export const rotateSecret = createRoute({
  method: "post",
  path: "/orgs/{slug}/webhooks/{id}/rotate-secret",
  operationId: "rotateWebhookSecret",
  tags,
  summary: "A new signing secret (shown once); the old one keeps signing beside it for WEBHOOK_SECRET_GRACE_SECONDS",
  ...authed,
  request: { params: EndpointParams },
  responses: {
    200: { description: "Rotated", content: { "application/json": { schema: CreatedWebhookEndpoint } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const listDeliveries = createRoute({
  method: "get",
  path: "/orgs/{slug}/webhooks/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  tags,
  summary: "The endpoint's delivery log, newest first: event, status, attempts, last response code and latency",
  ...authed,
  request: { params: EndpointParams, query: PageQuery.extend({ status: z.enum(webhookDeliveryStatuses).optional() }) },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(WebhookDelivery) } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const redeliver = createRoute({
  method: "post",
  path: "/orgs/{slug}/webhooks/{id}/deliveries/{deliveryId}/redeliver",
  operationId: "redeliverWebhook",
  tags,
  summary: "Send a delivery's event again, as a new delivery with the same webhook-id (admins and owners)",
  ...authed,
  request: { params: EndpointParams.extend({ deliveryId: z.uuid() }) },
  responses: {
    202: { description: "Queued", content: { "application/json": { schema: WebhookDelivery } } },
    ...problemResponses(400, 401, 403, 404, 409, 503),
  },
});
