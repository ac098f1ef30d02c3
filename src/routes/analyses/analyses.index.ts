// Mounts /sessions/{id}/analyses and /analyses.
import { createRouter } from "../../lib/create-app.ts";
import { authenticate } from "../../middleware/auth.ts";
import * as handlers from "./analyses.handlers.ts";
import * as routes from "./analyses.routes.ts";

export const analysesRouter = createRouter();
analysesRouter.use("/sessions/*", authenticate());
analysesRouter.use("/analyses/*", authenticate());
analysesRouter.openapi(routes.create, handlers.create).openapi(routes.get, handlers.get).openapi(routes.list, handlers.list).openapi(routes.rerun, handlers.rerun);
