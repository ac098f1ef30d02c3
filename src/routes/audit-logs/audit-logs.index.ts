// Mounts /orgs/{slug}/audit-logs.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./audit-logs.handlers.ts";
import * as routes from "./audit-logs.routes.ts";

export const auditLogsRouter = createRouter();
auditLogsRouter.openapi(routes.list, handlers.list);
