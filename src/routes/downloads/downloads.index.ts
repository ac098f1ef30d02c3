// Mounts /datasets/{id}/download.
import { createRouter } from "../../lib/create-app.ts";
import { authenticate } from "../../middleware/auth.ts";
import * as handlers from "./downloads.handlers.ts";
import * as routes from "./downloads.routes.ts";

export const downloadsRouter = createRouter();
downloadsRouter.use("/datasets/*", authenticate());
downloadsRouter.openapi(routes.download, handlers.download);
