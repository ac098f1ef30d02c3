// Mounts the health routes.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./health.handlers.ts";
import * as routes from "./health.routes.ts";

export const health = createRouter().openapi(routes.live, handlers.live).openapi(routes.ready, handlers.ready);
