// Mounts /orgs/{slug}/webhooks.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./webhooks.handlers.ts";
import * as routes from "./webhooks.routes.ts";

export const webhooksRouter = createRouter();
webhooksRouter
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.rotateSecret, handlers.rotateSecret)
  .openapi(routes.listDeliveries, handlers.listDeliveries)
  .openapi(routes.redeliver, handlers.redeliver);
