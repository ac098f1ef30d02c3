// Mounts /orgs.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./orgs.handlers.ts";
import * as routes from "./orgs.routes.ts";

export const orgs = createRouter();
orgs
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove);
