// Mounts /orgs/{slug}/data-sources (the registry, and each source's health and metrics).
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./data-sources.handlers.ts";
import * as routes from "./data-sources.routes.ts";

export const dataSourcesRouter = createRouter();
dataSourcesRouter
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.test, handlers.test)
  .openapi(routes.health, handlers.health)
  .openapi(routes.metrics, handlers.metrics);
