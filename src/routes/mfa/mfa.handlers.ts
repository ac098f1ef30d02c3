// Two-factor sign-in: enrol a TOTP authenticator, confirm it, keep recovery codes, switch it off, and finish a sign-in with a code.
import { and, eq, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { users } from "../../db/schema.ts";
import { ApiError } from "../../lib/problem.ts";
import { clientIp, consume, enforce } from "../../lib/rate-limits.ts";
import { guarded } from "../../lib/session-guard.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/types.ts";
import { unauthorized, userOf } from "../../lib/principal.ts";
import { openSession } from "../../services/identity.ts";
import { mfaChallengeSpent, spendMfaChallenge, verifyMfaChallenge } from "../../services/mfa/challenge.ts";
import {
  type CodeCheck,
  mfaStatusOf,
  mfaStatusQuery,
  newRecoveryCodes,
  removeFactor,
  sealTotpSecret,
  spendRecoveryCode,
  spendTotpCode,
  upsertPending,
} from "../../services/mfa/factors.ts";
import { newTotpSecret, otpauthUri, TOTP_DIGITS, TOTP_ISSUER, TOTP_PERIOD_SECONDS } from "../../services/mfa/totp.ts";
import { rememberDevice } from "../../services/signin-devices.ts";
import { sessionContext, tokens } from "../auth/session-tokens.ts";
import type * as routes from "./mfa.routes.ts";

/** Every code attempt spends from the account's bucket, whoever sends it and from wherever. */
const limitCodes = async (c: Context<AppEnv>, userId: string) => enforce(c, await consume(c, "mfa-user", `user:${userId}`));

const codeRefused = (status: 401 | 422, check: Exclude<CodeCheck, "accepted">) =>
  check === "reused"
    ? new ApiError(status, { code: "MFA_CODE_REUSED", detail: "This code was already used; wait for the next one." })
    : new ApiError(status, {
        code: "MFA_CODE_INVALID",
        detail: "The code is not right (check the device's clock), or the recovery code is not one of yours.",
      });

const notEnrolled = () => new ApiError(409, { code: "MFA_NOT_ENROLLED", detail: "You have no confirmed second factor." });

/** A TOTP code of the confirmed factor, or one unused recovery code. */
async function proveFactor(c: Context<AppEnv>, userId: string, proof: { code?: string; recoveryCode?: string }): Promise<CodeCheck> {
  const db = c.get("services").db;
  if (proof.code !== undefined) return spendTotpCode(db, c.get("config"), userId, proof.code, { confirmed: true });
  return (await spendRecoveryCode(db, userId, proof.recoveryCode!)) ? "accepted" : "invalid";
}

async function statusOf(c: Context<AppEnv>, userId: string) {
  const [rows] = await guarded(c, (db) => [mfaStatusQuery(db, userId)]);
  return mfaStatusOf(rows);
}

export const getStatus: AppRouteHandler<typeof routes.getStatus> = async (c) => {
  const status = await statusOf(c, userOf(c).userId);
  const { enabled, pending, confirmedAt, recoveryCodesLeft } = status;
  return c.json({ totp: { enabled, pending, confirmedAt: confirmedAt?.toISOString() ?? null }, recoveryCodesLeft }, 200);
};

export const enrolTotp: AppRouteHandler<typeof routes.enrolTotp> = async (c) => {
  const { userId } = userOf(c);
  const config = c.get("config");
  const [[account]] = await guarded(c, (db) => [db.select({ email: users.email }).from(users).where(eq(users.id, userId))]);
  if (!account) throw unauthorized("INVALID_TOKEN", "The account of this token no longer exists.");
  const db = c.get("services").db;
  const secret = newTotpSecret();
  const stored = await upsertPending(db, userId, await sealTotpSecret(config, userId, secret));
  if (stored.length === 0)
    throw new ApiError(409, { code: "MFA_ALREADY_ENABLED", detail: "A second factor is already on: disable it before enrolling another." });
  c.header("Cache-Control", "no-store");
  c.set("auditTarget", { type: "users", id: userId });
  const uri = otpauthUri(TOTP_ISSUER, account.email, secret);
  return c.json({ secret, otpauthUri: uri, algorithm: "SHA1" as const, digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS }, 201);
};

/**
 * Spends a TOTP code of the pending (confirming) or confirmed factor and answers a new set of recovery codes, which replace
 * any old ones; never cached.
 */
async function spendCodeForRecoveryCodes(
  c: Context<AppEnv>,
  userId: string,
  code: string,
  factor: { confirmed: boolean },
): Promise<string[]> {
  const db = c.get("services").db;
  const check = await spendTotpCode(db, c.get("config"), userId, code, factor);
  if (check !== "accepted") throw codeRefused(422, check);
  const recovery = await newRecoveryCodes(db, userId);
  await db.batch(recovery.statements);
  c.header("Cache-Control", "no-store");
  c.set("auditTarget", { type: "users", id: userId });
  return recovery.codes;
}

export const confirmTotp: AppRouteHandler<typeof routes.confirmTotp> = async (c) => {
  const { userId } = userOf(c);
  const { code } = c.req.valid("json");
  await limitCodes(c, userId);
  const status = await statusOf(c, userId);
  if (status.enabled) throw new ApiError(409, { code: "MFA_ALREADY_ENABLED", detail: "The second factor is already confirmed." });
  if (!status.pending) throw new ApiError(409, { code: "MFA_NOT_ENROLLED", detail: "Start an enrolment first (POST /me/mfa/totp)." });
  return c.json({ recoveryCodes: await spendCodeForRecoveryCodes(c, userId, code, { confirmed: false }) }, 200);
};

export const disableTotp: AppRouteHandler<typeof routes.disableTotp> = async (c) => {
  const { userId } = userOf(c);
  const proof = c.req.valid("json");
  await limitCodes(c, userId);
  if (!(await statusOf(c, userId)).enabled) throw notEnrolled();
  const check = await proveFactor(c, userId, proof);
  if (check !== "accepted") throw codeRefused(422, check);
  await c.get("services").db.batch(removeFactor(c.get("services").db, userId));
  c.set("auditTarget", { type: "users", id: userId });
  return c.body(null, 204);
};

export const regenerateRecoveryCodes: AppRouteHandler<typeof routes.regenerateRecoveryCodes> = async (c) => {
  const { userId } = userOf(c);
  const { code } = c.req.valid("json");
  await limitCodes(c, userId);
  if (!(await statusOf(c, userId)).enabled) throw notEnrolled();
  return c.json({ recoveryCodes: await spendCodeForRecoveryCodes(c, userId, code, { confirmed: true }) }, 200);
};

export const completeSignin: AppRouteHandler<typeof routes.completeSignin> = async (c) => {
  const { mfaToken, ...proof } = c.req.valid("json");
  enforce(c, await consume(c, "signin-ip", `ip:${clientIp(c)}`));
  const config = c.get("config");
  const challenge = await verifyMfaChallenge(config, mfaToken);
  const invalidChallenge = () =>
    unauthorized("MFA_CHALLENGE_INVALID", "The sign-in challenge is not valid, was used or has expired: sign in again.", false);
  if (!challenge) throw invalidChallenge();
  const redis = c.get("services").redis;
  if (await mfaChallengeSpent(redis, challenge.jti)) throw invalidChallenge();
  const { userId } = challenge;
  c.set("auditTarget", { type: "users", id: userId });
  await limitCodes(c, userId);
  // A public route: the challenge is the credential, whatever Authorization header came along.
  const db = c.get("services").unguardedDb;
  const [user] = await db
    .select({ id: users.id, email: users.email, status: users.status, tier: users.tier })
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletedAt)));
  if (!user) throw unauthorized("MFA_CHALLENGE_INVALID", "The account of this challenge no longer exists.", false);
  if (user.status !== "active") throw new ApiError(403, { code: "FORBIDDEN", detail: "This account is suspended." });
  const check = await proveFactor(c, user.id, proof);
  if (check !== "accepted") throw codeRefused(401, check);
  // Two requests racing with one challenge and two good codes: one session.
  if (!(await spendMfaChallenge(redis, challenge.jti))) throw invalidChallenge();

  const session = await openSession(db, user.id, config.REFRESH_TOKEN_TTL_DAYS, sessionContext(c));
  await db.batch(session.statements);
  await rememberDevice(c, user.email);
  c.set("userId", user.id);
  return c.json(await tokens(c, user.id, user.tier, session.sessionId, session.refreshToken, session.expiresAt), 200);
};
