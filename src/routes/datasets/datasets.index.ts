// Mounts /projects/{id}/datasets and /datasets.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./datasets.handlers.ts";
import * as routes from "./datasets.routes.ts";

export const datasetsRouter = createRouter();
datasetsRouter
  .openapi(routes.upload, handlers.upload)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.rows, handlers.rows)
  .openapi(routes.rejects, handlers.rejects)
  .openapi(routes.versions, handlers.versions)
  .openapi(routes.setSchema, handlers.setSchema)
  .openapi(routes.remove, handlers.remove);
