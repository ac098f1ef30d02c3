// Mounts /projects/{id}/uploads, /uploads/{id} (tus) and /datasets/{id}/events.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./uploads.handlers.ts";
import * as routes from "./uploads.routes.ts";

export const uploadsRouter = createRouter();
uploadsRouter
  .openapi(routes.create, handlers.create)
  .openapi(routes.append, handlers.append)
  .openapi(routes.status, handlers.status)
  .openapi(routes.terminate, handlers.terminate)
  .openapi(routes.datasetEvents, handlers.datasetEvents);
