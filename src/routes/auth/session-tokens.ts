// What a successful sign-in answers: the session's context from the request, and the token pair (never cached).
import type { Context } from "hono";
import type { Tier } from "../../db/schema.ts";
import type { AppEnv } from "../../lib/types.ts";
import type { SessionContext } from "../../services/identity.ts";
import { signAccessToken } from "../../services/tokens.ts";

export const sessionContext = (c: Context<AppEnv>): SessionContext => ({
  userAgent: c.req.header("User-Agent") ?? null,
  ip: c.req.header("CF-Connecting-IP") ?? null,
});

export async function tokens(
  c: Context<AppEnv>,
  userId: string,
  tier: Tier,
  sessionId: string,
  refreshToken: string,
  refreshExpiresAt: Date,
) {
  const access = await signAccessToken(c.get("config"), { userId, sessionId, tier });
  c.header("Cache-Control", "no-store");
  return {
    tokenType: "Bearer" as const,
    accessToken: access.token,
    expiresIn: access.expiresIn,
    refreshToken,
    refreshTokenExpiresAt: refreshExpiresAt.toISOString(),
  };
}
