// Route definitions for a session's live event stream (SSE from its SessionRoom) and the tickets EventSource opens it with.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { problemResponses } from "../../lib/openapi.ts";
import { IdParam, Timestamp } from "../schemas.ts";

const EventId = z.string().regex(/^\d{1,15}$/, "an event id this stream sent");

export const stream = createRoute({
  method: "get",
  path: "/sessions/{id}/events",
  operationId: "streamSessionEvents",
  tags: ["Sessions"],
  summary: "Follow a session live: analyses and chat as server-sent events",
  description:
    "Every event has an `id`. Reconnect with `Last-Event-ID` (EventSource does this itself) to receive exactly the events you missed, then the live ones; the room keeps the last 500. Events: `status`, `insight`, `chart`, `done`, `problem` (a problem document; each with `analysisId`) and `message` (a chat message saved). A `: heartbeat` comment comes every SSE_HEARTBEAT_SECONDS.",
  ...authed,
  security: [...authed.security, { streamTicket: [] }],
  request: {
    params: IdParam,
    query: z.object({
      ticket: z.string().max(100).optional().openapi({
        description: "A stream ticket from `POST /sessions/{id}/events/ticket`, instead of `Authorization` (for EventSource). Single use.",
      }),
      lastEventId: EventId.optional().openapi({
        description: "Resume after this event, as `Last-Event-ID` does (the header wins): for a new EventSource opened with a new ticket.",
      }),
    }),
    headers: z.object({ "last-event-id": EventId.optional() }),
  },
  responses: {
    200: { description: "The event stream", content: { "text/event-stream": { schema: z.string() } } },
    ...problemResponses(400, 401, 404),
  },
});

export const StreamTicket = z
  .object({
    ticket: z.string().openapi({ example: "dcst_q2Vx…" }),
    expiresAt: Timestamp,
    url: z.string().openapi({ description: "The stream's path with the ticket, ready for `new EventSource(url)`" }),
  })
  .openapi("StreamTicket");

export const ticket = createRoute({
  method: "post",
  path: "/sessions/{id}/events/ticket",
  operationId: "createSessionEventsTicket",
  tags: ["Sessions"],
  summary: "A single-use ticket to open the session's event stream without an Authorization header",
  description:
    "`EventSource` cannot send `Authorization`, and a long-lived token never belongs in a URL. A ticket opens `GET /sessions/{id}/events?ticket=…` once, within 60 s, for this session only, as the person who asked for it (API keys send their header instead: 403). EventSource reconnects with the spent ticket are refused (401), which closes it: ask for a new ticket and open a new EventSource with `&lastEventId=` set to the last event id seen.",
  ...authed,
  request: { params: IdParam },
  responses: {
    201: { description: "The ticket", content: { "application/json": { schema: StreamTicket } } },
    ...problemResponses(400, 401, 403, 404),
  },
});
