// Mounts /orgs/{slug}/api-keys.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./api-keys.handlers.ts";
import * as routes from "./api-keys.routes.ts";

export const apiKeysRouter = createRouter();
apiKeysRouter.openapi(routes.list, handlers.list).openapi(routes.create, handlers.create).openapi(routes.revoke, handlers.revoke);
