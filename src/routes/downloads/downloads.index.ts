// Mounts /datasets/{id}/download.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./downloads.handlers.ts";
import * as routes from "./downloads.routes.ts";

export const downloadsRouter = createRouter();
downloadsRouter.openapi(routes.download, handlers.download);
