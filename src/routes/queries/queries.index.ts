// Mounts /datasets/{id}/query.
import { createRouter } from "../../lib/create-app.ts";
import { authenticate } from "../../middleware/auth.ts";
import * as handlers from "./queries.handlers.ts";
import * as routes from "./queries.routes.ts";

export const queriesRouter = createRouter();
queriesRouter.use("/datasets/*", authenticate());
queriesRouter.openapi(routes.query, handlers.query);
