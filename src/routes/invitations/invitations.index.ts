// Mounts /invitations/{token}/accept (people only, signed in).
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./invitations.handlers.ts";
import * as routes from "./invitations.routes.ts";

export const invitations = createRouter();
invitations.openapi(routes.accept, handlers.accept);
