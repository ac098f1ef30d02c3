// Mounts the auth routes: sign-up, sign-in, refresh and email verification are public; sign-out and session need a token.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./auth.handlers.ts";
import * as routes from "./auth.routes.ts";

export const auth = createRouter()
  .openapi(routes.signup, handlers.signup)
  .openapi(routes.signin, handlers.signin)
  .openapi(routes.refresh, handlers.refresh)
  .openapi(routes.verifyEmail, handlers.verifyEmail)
  .openapi(routes.resendVerification, handlers.resendVerification)
  .openapi(routes.signout, handlers.signout)
  .openapi(routes.session, handlers.session);
