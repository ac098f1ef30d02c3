// Route definition for a session's live event stream (SSE from its SessionRoom).
import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "../../lib/openapi.ts";
import { bearerSecurity } from "../schemas.ts";

export const stream = createRoute({
  method: "get",
  path: "/sessions/{id}/events",
  operationId: "streamSessionEvents",
  tags: ["Sessions"],
  summary: "Follow a session live: analyses and chat as server-sent events",
  description:
    "Every event has an `id`. Reconnect with `Last-Event-ID` (EventSource does this itself) to receive exactly the events you missed, then the live ones; the room keeps the last 500. Events: `status`, `insight`, `chart`, `done`, `problem` (a problem document; each with `analysisId`) and `message` (a chat message saved). A `: heartbeat` comment comes every SSE_HEARTBEAT_SECONDS.",
  security: bearerSecurity,
  request: {
    params: z.object({ id: z.uuid() }),
    headers: z.object({ "last-event-id": z.string().regex(/^\d{1,15}$/, "an event id this stream sent").optional() }),
  },
  responses: {
    200: { description: "The event stream", content: { "text/event-stream": { schema: z.string() } } },
    ...problemResponses(400, 401, 404),
  },
});
