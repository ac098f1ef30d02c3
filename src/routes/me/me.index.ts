// Mounts /me.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./me.handlers.ts";
import * as routes from "./me.routes.ts";

export const me = createRouter();
me.openapi(routes.getMe, handlers.getMe).openapi(routes.updateMe, handlers.updateMe).openapi(routes.deleteMe, handlers.deleteMe);
