// Mounts /projects.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./projects.handlers.ts";
import * as routes from "./projects.routes.ts";

export const projectsRouter = createRouter();
projectsRouter
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.restore, handlers.restore);
