// Mounts /sessions/{id}/chat and /sessions/{id}/messages.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./chat.handlers.ts";
import * as routes from "./chat.routes.ts";

export const chatRouter = createRouter();
chatRouter.openapi(routes.create, handlers.create).openapi(routes.list, handlers.list);
