// Route definitions for sign-up, sign-in, refresh, sign-out and the current session.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { MfaChallenge } from "../mfa/challenge.schema.ts";
import { Email, Text, Timestamp } from "../schemas.ts";

const Password = z.string().min(10, "at least 10 characters").max(256).openapi({ example: "correct horse battery staple" });

export const Tokens = z
  .object({
    tokenType: z.literal("Bearer"),
    accessToken: z.string().openapi({ description: "A JWT for `Authorization: Bearer …`" }),
    expiresIn: z.number().int().openapi({ description: "Seconds until the access token expires", example: 900 }),
    refreshToken: z.string().openapi({ description: "Single use: POST it to /auth/refresh for new tokens" }),
    refreshTokenExpiresAt: Timestamp,
  })
  .openapi("Tokens");

export const User = z
  .object({
    id: z.uuid(),
    email: z.string(),
    emailVerified: z.boolean().openapi({ description: "Until true the account cannot accept invitations or create API keys" }),
    name: z.string().nullable(),
    createdAt: Timestamp,
  })
  .openapi("User");

/** The public fields of a users row. */
export const presentUser = (user: { id: string; email: string; emailVerifiedAt: Date | null; name: string | null; createdAt: Date }) => ({
  id: user.id,
  email: user.email,
  emailVerified: user.emailVerifiedAt !== null,
  name: user.name,
  createdAt: user.createdAt.toISOString(),
});

export const signup = createRoute({
  method: "post",
  path: "/auth/signup",
  security: [],
  operationId: "signUp",
  tags: ["Auth"],
  summary: "Create an account",
  description:
    "Always answers 202 with the same body, whether or not the address already has an account, so the API never tells who is registered. " +
    "A new account gets a verification link by email; it can sign in at once, but accepts invitations and creates API keys only once verified.",
  request: { body: jsonBody(z.object({ email: Email, password: Password, name: Text.trim().min(1).max(100).optional() })) },
  responses: {
    202: {
      description: "Accepted",
      content: { "application/json": { schema: z.object({ status: z.literal("accepted"), detail: z.string() }) } },
    },
    ...problemResponses(400, 415),
  },
});

export const signin = createRoute({
  method: "post",
  path: "/auth/signin",
  security: [],
  operationId: "signIn",
  tags: ["Auth"],
  summary: "Sign in with email and password",
  request: { body: jsonBody(z.object({ email: Email, password: z.string().min(1).max(256) })) },
  responses: {
    200: {
      description: "Signed in, or (for an account with a second factor) `mfa_required` with a challenge for POST /auth/mfa",
      content: { "application/json": { schema: z.union([Tokens, MfaChallenge]) } },
    },
    ...problemResponses(400, 401, 403, 415),
  },
});

export const refresh = createRoute({
  method: "post",
  path: "/auth/refresh",
  security: [],
  operationId: "refreshTokens",
  tags: ["Auth"],
  summary: "Trade a refresh token for new tokens (the old one is spent)",
  description: "Presenting a refresh token that was already spent ends its whole session (`TOKEN_REUSED`): it was probably stolen.",
  request: { body: jsonBody(z.object({ refreshToken: z.string().min(1).max(200) })) },
  responses: {
    200: { description: "New tokens", content: { "application/json": { schema: Tokens } } },
    ...problemResponses(400, 401, 415),
  },
});

export const signout = createRoute({
  method: "post",
  path: "/auth/signout",
  operationId: "signOut",
  tags: ["Auth"],
  summary: "End the current session (its access and refresh tokens stop working)",
  ...authed,
  responses: { 204: { description: "Signed out" }, ...problemResponses(401, 403) },
});

export const session = createRoute({
  method: "get",
  path: "/auth/session",
  operationId: "getAuthSession",
  tags: ["Auth"],
  summary: "The current session and its user",
  ...authed,
  responses: {
    200: {
      description: "The session",
      content: {
        "application/json": {
          schema: z
            .object({
              user: User,
              method: z.enum(["password", "oidc"]),
              session: z
                .object({
                  id: z.uuid(),
                  createdAt: Timestamp,
                  lastActiveAt: Timestamp,
                  expiresAt: Timestamp,
                  userAgent: z.string().nullable(),
                  ip: z.string().nullable(),
                })
                .nullable()
                .openapi({ description: "Null for external identity-provider tokens, whose sessions the provider keeps" }),
            })
            .openapi("AuthSession"),
        },
      },
    },
    ...problemResponses(401, 403),
  },
});

const Accepted = z.object({ status: z.literal("accepted"), detail: z.string() });
const VerificationToken = z.string().min(1).max(200).openapi({ description: "The `token` of the emailed link (after `#token=`)" });

export const verifyEmail = createRoute({
  method: "post",
  path: "/auth/verify-email",
  security: [],
  operationId: "verifyEmail",
  tags: ["Auth"],
  summary: "Verify an address with the token from its emailed link (single use)",
  request: { body: jsonBody(z.object({ token: VerificationToken }).strict()) },
  responses: {
    200: {
      description: "Verified",
      content: { "application/json": { schema: z.object({ status: z.literal("verified"), userId: z.uuid() }).openapi("EmailVerified") } },
    },
    ...problemResponses(400, 409, 410, 415),
  },
});

export const resendVerification = createRoute({
  method: "post",
  path: "/auth/resend-verification",
  security: [],
  operationId: "resendVerification",
  tags: ["Auth"],
  summary: "Send a new verification link (rate limited)",
  description:
    "Always answers 202 with the same body: a link goes out only to an unverified account, and the answer never says whether one exists.",
  request: { body: jsonBody(z.object({ email: Email }).strict()) },
  responses: {
    202: { description: "Accepted", content: { "application/json": { schema: Accepted } } },
    ...problemResponses(400, 415, 429),
  },
});
