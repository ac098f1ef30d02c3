// Mounts /me.
import { createRouter } from "../../lib/create-app.ts";
import { authenticate } from "../../middleware/auth.ts";
import * as handlers from "./me.handlers.ts";
import * as routes from "./me.routes.ts";

export const me = createRouter();
me.use("/me", authenticate());
me.openapi(routes.getMe, handlers.getMe).openapi(routes.updateMe, handlers.updateMe).openapi(routes.deleteMe, handlers.deleteMe);
