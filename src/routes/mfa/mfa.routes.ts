// Route definitions for two-factor sign-in: TOTP enrolment, recovery codes, and the second step of sign-in.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { Tokens } from "../auth/auth.routes.ts";
import { Timestamp } from "../schemas.ts";

const TotpCode = z
  .string()
  .regex(/^\d{6}$/, "six digits")
  .openapi({ description: "The six-digit code your authenticator app shows now", example: "492039" });
const RecoveryCode = z.string().min(10).max(40).openapi({ description: "One of your single-use recovery codes", example: "k3vq7-m2xpa" });

export const MfaStatus = z
  .object({
    totp: z.object({
      enabled: z.boolean(),
      pending: z.boolean().openapi({ description: "Enrolment started but not yet confirmed with a first code" }),
      confirmedAt: Timestamp.nullable(),
    }),
    recoveryCodesLeft: z.number().int().openapi({ description: "Unused recovery codes" }),
  })
  .openapi("MfaStatus");

export const RecoveryCodes = z
  .object({
    recoveryCodes: z.array(z.string()).openapi({ description: "Ten single-use codes, shown only now: store them somewhere safe" }),
  })
  .openapi("RecoveryCodes");

export const getStatus = createRoute({
  method: "get",
  path: "/me/mfa",
  operationId: "getMfaStatus",
  tags: ["Me"],
  summary: "Your second factor: enrolled or not, and recovery codes left",
  ...authed,
  responses: { 200: { description: "Status", content: { "application/json": { schema: MfaStatus } } }, ...problemResponses(401, 403) },
});

export const enrolTotp = createRoute({
  method: "post",
  path: "/me/mfa/totp",
  operationId: "enrolTotp",
  tags: ["Me"],
  summary: "Start TOTP enrolment: a new secret and its otpauth:// URI",
  description:
    "Scan `otpauthUri` (or type `secret`) into an authenticator app, then confirm with its first code. Starting again before confirming " +
    "replaces the pending secret; with a confirmed factor this is a 409 (disable it first).",
  ...authed,
  responses: {
    201: {
      description: "Pending enrolment",
      content: {
        "application/json": {
          schema: z.object({
            secret: z.string().openapi({ description: "Base32, for typing in by hand" }),
            otpauthUri: z.string(),
            algorithm: z.literal("SHA1"),
            digits: z.literal(6),
            period: z.literal(30),
          }),
        },
      },
    },
    ...problemResponses(401, 403, 409),
  },
});

export const confirmTotp = createRoute({
  method: "post",
  path: "/me/mfa/totp/confirm",
  operationId: "confirmTotp",
  tags: ["Me"],
  summary: "Confirm TOTP enrolment with a first code; answers your recovery codes",
  ...authed,
  request: { body: jsonBody(z.object({ code: TotpCode })) },
  responses: {
    200: { description: "Enabled", content: { "application/json": { schema: RecoveryCodes } } },
    ...problemResponses(400, 401, 403, 409, 415, 422, 429),
  },
});

const proof = { code: TotpCode.optional(), recoveryCode: RecoveryCode.optional() };
const exactlyOne = (body: { code?: string; recoveryCode?: string }) => (body.code === undefined) !== (body.recoveryCode === undefined);
const oneProof = "send exactly one of code and recoveryCode";
const CodeProof = z.object(proof).refine(exactlyOne, oneProof);

export const disableTotp = createRoute({
  method: "post",
  path: "/me/mfa/totp/disable",
  operationId: "disableTotp",
  tags: ["Me"],
  summary: "Switch the second factor off (needs a current code or a recovery code)",
  ...authed,
  request: { body: jsonBody(CodeProof) },
  responses: { 204: { description: "Disabled" }, ...problemResponses(400, 401, 403, 409, 415, 422, 429) },
});

export const regenerateRecoveryCodes = createRoute({
  method: "post",
  path: "/me/mfa/recovery-codes",
  operationId: "regenerateRecoveryCodes",
  tags: ["Me"],
  summary: "Replace your recovery codes with ten new ones (needs a current code)",
  ...authed,
  request: { body: jsonBody(z.object({ code: TotpCode })) },
  responses: {
    200: { description: "New codes; the old ones no longer work", content: { "application/json": { schema: RecoveryCodes } } },
    ...problemResponses(400, 401, 403, 409, 415, 422, 429),
  },
});

export const completeSignin = createRoute({
  method: "post",
  path: "/auth/mfa",
  operationId: "completeMfaSignIn",
  tags: ["Auth"],
  summary: "Second step of sign-in: the challenge token and a code (or a recovery code)",
  security: [],
  description:
    "A code works once: the same code again within its 30-second window is refused (`MFA_CODE_REUSED`). Codes are rate-limited per account.",
  request: { body: jsonBody(z.object({ mfaToken: z.string().min(1).max(2_000), ...proof }).refine(exactlyOne, oneProof)) },
  responses: {
    200: { description: "Signed in", content: { "application/json": { schema: Tokens } } },
    ...problemResponses(400, 401, 403, 415, 429),
  },
});
