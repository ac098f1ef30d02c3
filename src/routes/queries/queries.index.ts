// Mounts /datasets/{id}/query.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./queries.handlers.ts";
import * as routes from "./queries.routes.ts";

export const queriesRouter = createRouter();
queriesRouter.openapi(routes.query, handlers.query);
