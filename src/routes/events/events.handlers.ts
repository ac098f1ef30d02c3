// A session's event stream: the caller is checked here, the stream itself comes from the session's room.
import { requireSession } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { roomFor } from "../../durable-objects/session-room/room.ts";
import type * as routes from "./events.routes.ts";

export const stream: AppRouteHandler<typeof routes.stream> = async (c) => {
  const { session } = await requireSession(c, c.req.valid("param").id, "sessions:read");
  const config = c.get("config");
  const lastEventId = c.req.valid("header")["last-event-id"];
  const response = await roomFor(config, session.id).fetch(`https://room/events?heartbeat=${config.SSE_HEARTBEAT_SECONDS}`, {
    headers: lastEventId ? { "Last-Event-ID": lastEventId } : {},
    signal: c.req.raw.signal,
  });
  return new Response(response.body, { status: 200, headers: response.headers }) as never;
};
