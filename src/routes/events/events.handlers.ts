// A session's event stream: the caller is checked here, the stream itself comes from the session's room; and its tickets.
import { requireSession } from "../../lib/tenancy.ts";
import { userOf } from "../../lib/principal.ts";
import { issueStreamTicket } from "../../services/stream-tickets.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { roomFor } from "../../durable-objects/session-room/room.ts";
import type * as routes from "./events.routes.ts";

export const stream: AppRouteHandler<typeof routes.stream> = async (c) => {
  const { session } = await requireSession(c, c.req.valid("param").id, "sessions:read");
  const config = c.get("config");
  const lastEventId = c.req.valid("header")["last-event-id"] ?? c.req.valid("query").lastEventId;
  const response = await roomFor(config, session.id).fetch(`https://room/events?heartbeat=${config.SSE_HEARTBEAT_SECONDS}`, {
    headers: lastEventId ? { "Last-Event-ID": lastEventId } : {},
    signal: c.req.raw.signal,
  });
  return new Response(response.body, { status: 200, headers: response.headers }) as never;
};

export const ticket: AppRouteHandler<typeof routes.ticket> = async (c) => {
  const person = userOf(c);
  const { session } = await requireSession(c, c.req.valid("param").id, "sessions:read");
  const { ticket, expiresAt } = await issueStreamTicket(c.get("services").redis, session.id, person);
  c.header("Cache-Control", "no-store");
  const url = `/api/v1/sessions/${session.id}/events?ticket=${encodeURIComponent(ticket)}`;
  return c.json({ ticket, expiresAt: expiresAt.toISOString(), url }, 201);
};
