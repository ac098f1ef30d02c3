// Mounts /orgs/{slug}/members and /orgs/{slug}/invitations.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./members.handlers.ts";
import * as routes from "./members.routes.ts";

export const members = createRouter();
members
  .openapi(routes.list, handlers.list)
  .openapi(routes.listInvitations, handlers.listInvitations)
  .openapi(routes.invite, handlers.invite)
  .openapi(routes.resendInvitation, handlers.resendInvitation)
  .openapi(routes.revokeInvitation, handlers.revokeInvitation)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove);
