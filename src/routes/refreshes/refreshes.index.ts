// Mounts /orgs/{slug}/data-sources/{id}/refreshes.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./refreshes.handlers.ts";
import * as routes from "./refreshes.routes.ts";

export const refreshesRouter = createRouter();
refreshesRouter
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.remove, handlers.remove);
