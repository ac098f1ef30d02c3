// Tokens: our own short-lived access JWTs (HS256, rotating keys by kid), external OIDC JWTs (JWKS), opaque refresh tokens and API keys.
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, SignJWT, type JWTPayload } from "jose";
import { type Tier, tiers } from "../db/schema.ts";
import type { Config } from "../env.ts";
import { randomSecret, sha256Hex } from "../lib/crypto.ts";

export const REFRESH_TOKEN_PREFIX = "dcr_";
export const API_KEY_PREFIX = "dck_";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const encoder = new TextEncoder();
const keyBytes = new Map<string, Uint8Array>();
const secretBytes = (secret: string) => {
  let bytes = keyBytes.get(secret);
  if (!bytes) keyBytes.set(secret, (bytes = encoder.encode(secret)));
  return bytes;
};

/** Why a token was refused; the auth middleware turns it into a 401 problem. */
export class TokenError extends Error {
  constructor(
    readonly code: "INVALID_TOKEN" | "TOKEN_EXPIRED",
    message: string,
  ) {
    super(message);
  }
}

function tokenError(error: unknown): TokenError {
  if (error instanceof TokenError) return error;
  if (error instanceof errors.JWTExpired) return new TokenError("TOKEN_EXPIRED", "The access token has expired; refresh it.");
  if (error instanceof errors.JWTClaimValidationFailed)
    return new TokenError("INVALID_TOKEN", `The token's "${error.claim}" claim is not accepted.`);
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return new TokenError("INVALID_TOKEN", "The token's signature does not verify.");
  if (error instanceof errors.JOSEAlgNotAllowed) return new TokenError("INVALID_TOKEN", "The token's algorithm is not accepted.");
  if (error instanceof errors.JWKSNoMatchingKey)
    return new TokenError("INVALID_TOKEN", "No key of the identity provider matches the token.");
  return new TokenError("INVALID_TOKEN", "The token is malformed.");
}

export interface AccessClaims {
  userId: string;
  sessionId: string;
  /** The account's rate-limit tier when the token was issued: limits apply before any query. */
  tier: Tier;
}

export async function signAccessToken(config: Config, claims: AccessClaims): Promise<{ token: string; expiresIn: number }> {
  const [active] = config.AUTH_JWT_KEYS;
  if (!active) throw new Error("AUTH_JWT_KEYS is empty");
  const expiresIn = config.ACCESS_TOKEN_TTL_SECONDS;
  const token = await new SignJWT({ sid: claims.sessionId, tier: claims.tier })
    .setProtectedHeader({ alg: "HS256", kid: active.kid, typ: "JWT" })
    .setSubject(claims.userId)
    .setIssuer(config.AUTH_ISSUER)
    .setAudience(config.AUTH_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${expiresIn}s`)
    .setJti(crypto.randomUUID())
    .sign(secretBytes(active.secret));
  return { token, expiresIn };
}

export async function verifyAccessToken(config: Config, token: string): Promise<AccessClaims> {
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const key = config.AUTH_JWT_KEYS.find((candidate) => candidate.kid === header.kid);
        if (!key) throw new TokenError("INVALID_TOKEN", "The token was signed with an unknown key.");
        return secretBytes(key.secret);
      },
      { issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE, algorithms: ["HS256"], requiredClaims: ["sub", "exp", "iat"] },
    );
    if (typeof payload.sid !== "string" || typeof payload.sub !== "string")
      throw new TokenError("INVALID_TOKEN", "The token lacks a session.");
    // Both are uuid columns: a signed token with anything else in them must be a 401 here, not a cast error in Postgres.
    if (!UUID.test(payload.sub) || !UUID.test(payload.sid))
      throw new TokenError("INVALID_TOKEN", "The token's subject or session is not an id we issue.");
    const tier = tiers.includes(payload.tier as Tier) ? (payload.tier as Tier) : "free";
    return { userId: payload.sub, sessionId: payload.sid, tier };
  } catch (error) {
    throw tokenError(error);
  }
}

/** JWKS fetched once per URL and cached by jose (refetched on an unknown kid, with a cooldown): no fetch per request. */
const jwksByUrl = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

export interface ExternalIdentity {
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
}

export async function verifyExternalToken(config: Config, token: string): Promise<ExternalIdentity> {
  const { OIDC_JWKS_URL: url, OIDC_ISSUER: issuer, OIDC_AUDIENCE: audience } = config;
  if (!url || !issuer || !audience) throw new TokenError("INVALID_TOKEN", "No external identity provider is configured.");
  let jwks = jwksByUrl.get(url);
  if (!jwks) jwksByUrl.set(url, (jwks = createRemoteJWKSet(new URL(url), { timeoutDuration: 3_000 })));
  try {
    const { payload } = await jwtVerify(token, jwks, {
      issuer,
      audience,
      algorithms: ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"],
      requiredClaims: ["sub", "exp"],
    });
    return {
      issuer,
      subject: payload.sub!,
      email: typeof payload.email === "string" ? payload.email.toLowerCase() : null,
      emailVerified: payload.email_verified === true,
      name: typeof payload.name === "string" ? payload.name : null,
    };
  } catch (error) {
    throw tokenError(error);
  }
}

/** The issuer a JWT claims, read without trusting it: only to pick which verifier applies. */
export function claimedIssuer(token: string): string | undefined {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    throw new TokenError("INVALID_TOKEN", "The token is malformed.");
  }
  return payload.iss;
}

/** A new opaque refresh token and the hash that is all the database keeps of it. */
export async function newRefreshToken(): Promise<{ token: string; hash: string }> {
  const token = `${REFRESH_TOKEN_PREFIX}${randomSecret(32)}`;
  return { token, hash: await sha256Hex(token) };
}

/** A new API key: `dck_<8-char prefix>_<secret>`; the prefix is shown in lists, the hash is stored. */
export async function newApiKey(): Promise<{ key: string; prefix: string; hash: string }> {
  const prefix = randomSecret(6).replaceAll(/[-_]/g, "x").slice(0, 8);
  const key = `${API_KEY_PREFIX}${prefix}_${randomSecret(32)}`;
  return { key, prefix: `${API_KEY_PREFIX}${prefix}`, hash: await sha256Hex(key) };
}
