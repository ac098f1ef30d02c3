// Mounts /me/mfa (signed-in people) and /auth/mfa (the second step of sign-in, public: the challenge is the credential).
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./mfa.handlers.ts";
import * as routes from "./mfa.routes.ts";

export const mfa = createRouter();
mfa
  .openapi(routes.getStatus, handlers.getStatus)
  .openapi(routes.enrolTotp, handlers.enrolTotp)
  .openapi(routes.confirmTotp, handlers.confirmTotp)
  .openapi(routes.disableTotp, handlers.disableTotp)
  .openapi(routes.regenerateRecoveryCodes, handlers.regenerateRecoveryCodes)
  .openapi(routes.completeSignin, handlers.completeSignin);
