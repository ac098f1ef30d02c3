// Who is calling: the caller authentication set on the request, and the 401 it answers when there is none.
import type { Context } from "hono";
import { ApiError, type ErrorCode } from "./problem.ts";
import type { AppEnv, Principal } from "./types.ts";

/** The RFC 6750 challenge every 401 (and a read-only key's 403) carries. */
export const BEARER_REALM = 'Bearer realm="datacrafted-api"';

/** 401 with the RFC 6750 challenge; `error="invalid_token"` only when a token was presented. */
export function unauthorized(code: ErrorCode, detail: string, presented = true): ApiError {
  const challenge = presented ? `${BEARER_REALM}, error="invalid_token", error_description="${detail.replaceAll('"', "'")}"` : BEARER_REALM;
  return new ApiError(401, { code, detail, headers: { "WWW-Authenticate": challenge } });
}

/** The authenticated caller (routes that spread `authed` only). */
export function principalOf(c: Context<AppEnv>): Principal {
  const principal = c.get("principal");
  if (!principal) throw new Error("principalOf() used on a route without `...authed`");
  return principal;
}

/** The caller as a person: API keys cannot use routes about a person's own account. */
export function userOf(c: Context<AppEnv>): Extract<Principal, { kind: "user" }> {
  const principal = principalOf(c);
  if (principal.kind !== "user")
    throw new ApiError(403, { code: "FORBIDDEN", detail: "This route is for people signed in, not API keys." });
  return principal;
}
