// The MFA challenge: after a right password, a short-lived signed token that only POST /auth/mfa accepts.
import { jwtVerify, SignJWT } from "jose";
import type { Redis } from "@upstash/redis";
import type { Config } from "../../env.ts";

export const MFA_CHALLENGE_TTL_SECONDS = 300;

const encoder = new TextEncoder();
/** Its own audience and type: an access-token check (audience AUTH_AUDIENCE) refuses it, and it refuses an access token. */
const audienceOf = (config: Config) => `${config.AUTH_AUDIENCE}:mfa`;
const TYPE = "mfa+jwt";

export async function signMfaChallenge(config: Config, userId: string): Promise<{ token: string; expiresIn: number }> {
  const [active] = config.AUTH_JWT_KEYS;
  if (!active) throw new Error("AUTH_JWT_KEYS is empty");
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256", kid: active.kid, typ: TYPE })
    .setSubject(userId)
    .setIssuer(config.AUTH_ISSUER)
    .setAudience(audienceOf(config))
    .setIssuedAt()
    .setExpirationTime(`${MFA_CHALLENGE_TTL_SECONDS}s`)
    .setJti(crypto.randomUUID())
    .sign(encoder.encode(active.secret));
  return { token, expiresIn: MFA_CHALLENGE_TTL_SECONDS };
}

export interface MfaChallengeClaims {
  userId: string;
  jti: string;
}

/** Whom a challenge token was issued for, or null when it is not one (expired, forged, or another kind of token). */
export async function verifyMfaChallenge(config: Config, token: string): Promise<MfaChallengeClaims | null> {
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const key = config.AUTH_JWT_KEYS.find((candidate) => candidate.kid === header.kid);
        if (!key) throw new Error("unknown key");
        return encoder.encode(key.secret);
      },
      { issuer: config.AUTH_ISSUER, audience: audienceOf(config), algorithms: ["HS256"], typ: TYPE, requiredClaims: ["sub", "exp", "jti"] },
    );
    const valid = typeof payload.sub === "string" && /^[0-9a-f-]{36}$/i.test(payload.sub) && typeof payload.jti === "string";
    return valid ? { userId: payload.sub!, jti: payload.jti! } : null;
  } catch {
    return null;
  }
}

/**
 * Marks a challenge as used, once it has opened a session: false when it already had. Failed attempts do not spend it (the
 * per-account code limit bounds them), so a typo does not send the person back to the password.
 */
export async function spendMfaChallenge(redis: Redis, jti: string): Promise<boolean> {
  return (await redis.set(spentKey(jti), 1, { nx: true, ex: MFA_CHALLENGE_TTL_SECONDS })) === "OK";
}

/** Whether a challenge already opened a session: checked before its code is spent, so a stale challenge wastes no code. */
export async function mfaChallengeSpent(redis: Redis, jti: string): Promise<boolean> {
  return (await redis.exists(spentKey(jti))) > 0;
}

const spentKey = (jti: string) => `mfa-challenge:${jti}`;
