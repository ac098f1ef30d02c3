// Mounts /sessions/{id}/events and its tickets.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./events.handlers.ts";
import * as routes from "./events.routes.ts";

export const eventsRouter = createRouter();
eventsRouter.openapi(routes.stream, handlers.stream);
eventsRouter.openapi(routes.ticket, handlers.ticket);
