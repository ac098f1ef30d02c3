// Mounts the saved-query routes under /orgs/{slug}/data-sources/{id}/saved-queries.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./saved-queries.handlers.ts";
import * as routes from "./saved-queries.routes.ts";

export const savedQueriesRouter = createRouter();
savedQueriesRouter
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove);
