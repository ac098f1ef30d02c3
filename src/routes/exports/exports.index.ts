// Mounts /sessions/{id}/export.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./exports.handlers.ts";
import * as routes from "./exports.routes.ts";

export const exportsRouter = createRouter();
exportsRouter.openapi(routes.exportSession, handlers.exportSession);
