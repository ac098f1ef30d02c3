// Route definitions for sign-up, sign-in, refresh, sign-out and the current session.
import { createRoute, z } from "@hono/zod-openapi";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { bearerSecurity, Email, Text, Timestamp } from "../schemas.ts";

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
  .object({ id: z.uuid(), email: z.string(), name: z.string().nullable(), createdAt: Timestamp })
  .openapi("User");


export const signup = createRoute({
  method: "post",
  path: "/auth/signup",
  operationId: "signUp",
  tags: ["Auth"],
  summary: "Create an account",
  description:
    "Always answers 202 with the same body, whether or not the address already has an account, so the API never tells who is registered. Then sign in.",
  request: { body: jsonBody(z.object({ email: Email, password: Password, name: Text.trim().min(1).max(100).optional() })) },
  responses: {
    202: { description: "Accepted", content: { "application/json": { schema: z.object({ status: z.literal("accepted"), detail: z.string() }) } } },
    ...problemResponses(400, 415),
  },
});

export const signin = createRoute({
  method: "post",
  path: "/auth/signin",
  operationId: "signIn",
  tags: ["Auth"],
  summary: "Sign in with email and password",
  request: { body: jsonBody(z.object({ email: Email, password: z.string().min(1).max(256) })) },
  responses: {
    200: { description: "Signed in", content: { "application/json": { schema: Tokens } } },
    ...problemResponses(400, 401, 403, 415),
  },
});

export const refresh = createRoute({
  method: "post",
  path: "/auth/refresh",
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
  security: bearerSecurity,
  responses: { 204: { description: "Signed out" }, ...problemResponses(401, 403) },
});

export const session = createRoute({
  method: "get",
  path: "/auth/session",
  operationId: "getSession",
  tags: ["Auth"],
  summary: "The current session and its user",
  security: bearerSecurity,
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
                .object({ id: z.uuid(), createdAt: Timestamp, lastActiveAt: Timestamp, expiresAt: Timestamp, userAgent: z.string().nullable(), ip: z.string().nullable() })
                .nullable()
                .openapi({ description: "Null for external identity-provider tokens, whose sessions the provider keeps" }),
            })
            .openapi("Session"),
        },
      },
    },
    ...problemResponses(401, 403),
  },
});
