// Sign-up, sign-in and token rotation. Unknown and known addresses cost the same and answer alike.
import { and, eq, isNull, sql } from "drizzle-orm";
import { authRefreshTokens, authSessions, users } from "../../db/schema.ts";
import { sha256Hex } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/problem.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { clientIp, consume, enforce } from "../../lib/rate-limits.ts";
import { guarded } from "../../lib/session-guard.ts";
import { unauthorized, userOf } from "../../lib/principal.ts";
import { openSession, provisionUser } from "../../services/identity.ts";
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, verifyPassword } from "../../services/passwords.ts";
import { rememberDevice, signinBucket } from "../../services/signin-devices.ts";
import { signMfaChallenge } from "../../services/mfa/challenge.ts";
import { newRefreshToken } from "../../services/tokens.ts";
import { verificationEmail } from "../../services/email/messages.ts";
import { sendLater } from "../../services/email/send.ts";
import { newVerificationToken, storeForAddress, storeForNewUser, verifyEmailToken } from "../../services/verification.ts";
import { presentUser } from "./auth.routes.ts";
import { sessionContext, tokens } from "./session-tokens.ts";
import type * as routes from "./auth.routes.ts";

export const signup: AppRouteHandler<typeof routes.signup> = async (c) => {
  const { email, password, name } = c.req.valid("json");
  enforce(c, await consume(c, "signup-ip", `ip:${clientIp(c)}`));
  // A public route: whatever Authorization header came along, it acts for no session.
  const db = c.get("services").unguardedDb;
  // Hash first, always: a taken address must cost what a new one costs.
  const { userId, statements } = provisionUser(db, { email, name: name ?? null, passwordHash: await hashPassword(password) });
  const config = c.get("config");
  const verification = await newVerificationToken(config.EMAIL_VERIFICATION_TTL_HOURS);
  const results = await db.batch([...statements, storeForNewUser(db, userId, email, verification)]);
  // Only a new account gets a link; a taken address gets nothing, after the response either way.
  const created = (results[statements.length - 1]?.rows[0] as { created?: number } | undefined)?.created;
  if (Number(created) === 1) sendLater(c, "verification", verificationEmail(config, email, verification.token));
  const detail = "If this address can be registered, its account is ready: sign in with it, and follow the link we emailed to verify it.";
  return c.json({ status: "accepted" as const, detail }, 202);
};

export const verifyEmail: AppRouteHandler<typeof routes.verifyEmail> = async (c) => {
  const { token } = c.req.valid("json");
  // A public route: the token is the credential, whatever Authorization header came along.
  const { outcome, userId } = await verifyEmailToken(c.get("services").unguardedDb, token);
  if (outcome === "invalid") {
    throw new ApiError(400, {
      code: "VERIFICATION_TOKEN_INVALID",
      detail: "This verification link is not valid.",
      errors: [{ path: "body.token", message: "Unknown token" }],
    });
  }
  if (outcome === "used") throw new ApiError(409, { code: "VERIFICATION_TOKEN_USED", detail: "This verification link was already used." });
  if (outcome === "expired") {
    const detail = "This verification link has expired: ask for a new one (POST /auth/resend-verification).";
    throw new ApiError(410, { code: "VERIFICATION_TOKEN_EXPIRED", detail });
  }
  c.set("auditTarget", { type: "users", id: userId! });
  return c.json({ status: "verified" as const, userId: userId! }, 200);
};

export const resendVerification: AppRouteHandler<typeof routes.resendVerification> = async (c) => {
  const { email } = c.req.valid("json");
  enforce(c, await consume(c, "verification-ip", `ip:${clientIp(c)}`));
  // The bucket is keyed by the address's hash: Redis need not hold addresses.
  enforce(c, await consume(c, "verification-email", `email:${await sha256Hex(email)}`));
  const config = c.get("config");
  const verification = await newVerificationToken(config.EMAIL_VERIFICATION_TTL_HOURS);
  // One statement whether or not the address has an unverified account; the mail goes after the response.
  if (await storeForAddress(c.get("services").unguardedDb, email, verification)) {
    sendLater(c, "verification", verificationEmail(config, email, verification.token));
  }
  const detail = "If this address has an account waiting for verification, a new link is on its way.";
  return c.json({ status: "accepted" as const, detail }, 202);
};

/** Whether the account has a confirmed second factor (then sign-in takes a code too). */
const hasSecondFactor = sql<boolean>`EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = ${users.id} AND t.confirmed_at IS NOT NULL)`;

export const signin: AppRouteHandler<typeof routes.signin> = async (c) => {
  const { email, password } = c.req.valid("json");
  c.set("auditTarget", { type: "email", id: email });
  enforce(c, await consume(c, "signin-ip", `ip:${clientIp(c)}`));
  // Per address, but a device that signed in to it before spends from a bucket of its own (src/services/signin-devices.ts).
  enforce(c, await consume(c, "signin-email", await signinBucket(c, email)));
  // A public route: whatever Authorization header came along, it acts for no session.
  const db = c.get("services").unguardedDb;
  const [user] = await db
    .select({ id: users.id, passwordHash: users.passwordHash, status: users.status, tier: users.tier, mfa: hasSecondFactor })
    .from(users)
    .where(and(eq(users.email, email), isNull(users.deletedAt)));
  // Unknown address or not: one PBKDF2 verification either way.
  const valid = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user?.passwordHash || !valid) throw unauthorized("INVALID_CREDENTIALS", "The email or password is not right.", false);
  if (user.status !== "active") throw new ApiError(403, { code: "FORBIDDEN", detail: "This account is suspended." });

  const config = c.get("config");
  const rehash = needsRehash(user.passwordHash)
    ? [
        db
          .update(users)
          .set({ passwordHash: await hashPassword(password), updatedAt: sql`now()` })
          .where(eq(users.id, user.id)),
      ]
    : [];
  if (user.mfa) {
    // The password was right; the session opens only after POST /auth/mfa with a code.
    for (const statement of rehash) await statement;
    c.header("Cache-Control", "no-store");
    const challenge = await signMfaChallenge(config, user.id);
    return c.json(
      {
        status: "mfa_required" as const,
        mfaToken: challenge.token,
        expiresIn: challenge.expiresIn,
        methods: ["totp" as const, "recovery_code" as const],
      },
      200,
    );
  }
  const session = await openSession(db, user.id, config.REFRESH_TOKEN_TTL_DAYS, sessionContext(c));
  await db.batch([...session.statements, ...rehash]);
  await rememberDevice(c, email);
  c.set("userId", user.id);
  return c.json(await tokens(c, user.id, user.tier, session.sessionId, session.refreshToken, session.expiresAt), 200);
};

export const refresh: AppRouteHandler<typeof routes.refresh> = async (c) => {
  const { refreshToken } = c.req.valid("json");
  // A public route: whatever Authorization header came along, it acts for no session.
  const db = c.get("services").unguardedDb;
  const hash = await sha256Hex(refreshToken);
  const [row] = await db
    .select({
      sessionId: authSessions.id,
      userId: authSessions.userId,
      replacedAt: authRefreshTokens.replacedAt,
      revokedAt: authSessions.revokedAt,
      expiresAt: authSessions.expiresAt,
      status: users.status,
      tier: users.tier,
      deletedAt: users.deletedAt,
    })
    .from(authRefreshTokens)
    .innerJoin(authSessions, eq(authSessions.id, authRefreshTokens.sessionId))
    .innerJoin(users, eq(users.id, authSessions.userId))
    .where(eq(authRefreshTokens.tokenHash, hash));
  if (!row) throw unauthorized("INVALID_TOKEN", "The refresh token is not valid.");

  const revokeForReuse = async () => {
    await db
      .update(authSessions)
      .set({ revokedAt: sql`now()`, revokedReason: "reuse" })
      .where(and(eq(authSessions.id, row.sessionId), isNull(authSessions.revokedAt)));
    c.get("logger").warn("refresh token reuse: session revoked", { sessionId: row.sessionId, userId: row.userId });
    return unauthorized("TOKEN_REUSED", "This refresh token was already used; its session has been ended. Sign in again.");
  };
  if (row.replacedAt) throw await revokeForReuse();
  if (row.revokedAt || row.expiresAt < new Date() || row.deletedAt || row.status !== "active") {
    throw unauthorized("INVALID_TOKEN", "The session of this refresh token has ended; sign in again.");
  }

  const next = await newRefreshToken();
  const { userAgent, ip } = sessionContext(c);
  // Spend the token and issue its successor in one statement; losing a race with a concurrent use counts as reuse.
  const rotated = await db.execute<{ session_id: string }>(sql`
    WITH spent AS (
      UPDATE auth_refresh_tokens SET replaced_at = now() WHERE token_hash = ${hash} AND replaced_at IS NULL RETURNING session_id
    ), touched AS (
      UPDATE auth_sessions SET last_active_at = now(), user_agent = coalesce(${userAgent?.slice(0, 512) ?? null}, user_agent), ip = coalesce(${ip}, ip)
      WHERE id IN (SELECT session_id FROM spent) RETURNING id
    )
    INSERT INTO auth_refresh_tokens (token_hash, session_id) SELECT ${next.hash}, session_id FROM spent RETURNING session_id`);
  if (rotated.rows.length === 0) throw await revokeForReuse();
  return c.json(await tokens(c, row.userId, row.tier, row.sessionId, next.token, row.expiresAt), 200);
};

export const signout: AppRouteHandler<typeof routes.signout> = async (c) => {
  const { sessionId } = userOf(c);
  if (sessionId) {
    await guarded(c, (db) => [
      db
        .update(authSessions)
        .set({ revokedAt: sql`now()`, revokedReason: "signout" })
        .where(and(eq(authSessions.id, sessionId), isNull(authSessions.revokedAt))),
    ]);
  }
  return c.body(null, 204);
};

export const session: AppRouteHandler<typeof routes.session> = async (c) => {
  const principal = userOf(c);
  const [[user], sessions] = await guarded(c, (db) => [
    db.select().from(users).where(eq(users.id, principal.userId)),
    db
      .select()
      .from(authSessions)
      .where(principal.sessionId ? eq(authSessions.id, principal.sessionId) : sql`false`),
  ]);
  if (!user) throw unauthorized("INVALID_TOKEN", "The account of this token no longer exists.");
  const current = principal.sessionId ? sessions[0] : undefined;
  return c.json(
    {
      user: presentUser(user),
      method: principal.via,
      session: current
        ? {
            id: current.id,
            createdAt: current.createdAt.toISOString(),
            lastActiveAt: current.lastActiveAt.toISOString(),
            expiresAt: current.expiresAt.toISOString(),
            userAgent: current.userAgent,
            ip: current.ip,
          }
        : null,
    },
    200,
  );
};
