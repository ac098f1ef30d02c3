// Mounts /sessions/{id}/analyses and /analyses.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./analyses.handlers.ts";
import * as routes from "./analyses.routes.ts";

export const analysesRouter = createRouter();
analysesRouter
  .openapi(routes.create, handlers.create)
  .openapi(routes.get, handlers.get)
  .openapi(routes.list, handlers.list)
  .openapi(routes.rerun, handlers.rerun);
