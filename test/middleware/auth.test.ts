// The authenticate middleware against forged, expired and misdirected tokens, external IdP tokens and API keys.
import { env } from "cloudflare:test";
import { importJWK, SignJWT, UnsecuredJWT } from "jose";
import { eq, sql } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { authSessions, users } from "../../src/db/schema.ts";
import { call, json, person } from "../support/harness.ts";
import { expectProblem } from "../support/problem.ts";

const oidc = inject("oidc");
const keys = env.AUTH_JWT_KEYS.split(",").map((entry) => {
  const at = entry.indexOf(":");
  return { kid: entry.slice(0, at), secret: new TextEncoder().encode(entry.slice(at + 1)) };
});

interface Mint {
  sub: string;
  sid: string;
  kid?: string;
  secret?: Uint8Array;
  iss?: string;
  aud?: string;
  exp?: number;
}

/** Mints a token the way our issuer does, with one thing changed at a time. */
async function mint({
  sub,
  sid,
  kid = keys[0]!.kid,
  secret = keys[0]!.secret,
  iss = "https://api.datacrafted.app",
  aud = "datacrafted-api",
  exp,
}: Mint) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid })
    .setProtectedHeader({ alg: "HS256", kid })
    .setSubject(sub)
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt(now - 10)
    .setExpirationTime(exp ?? now + 300)
    .sign(secret);
}

async function sessionOf(token: string) {
  const { sub, sid } = JSON.parse(atob(token.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))) as { sub: string; sid: string };
  return { sub, sid };
}

async function expectRefused(token: string, code = "INVALID_TOKEN") {
  const response = await call("/api/v1/me", { token });
  await expectProblem(response, 401, code as never);
  expect(response.headers.get("WWW-Authenticate")).toMatch(
    /^Bearer realm="datacrafted-api", error="invalid_token", error_description=".+"$/,
  );
}

describe("own access tokens", () => {
  it("accept a token signed with the older key still listed (rotation)", async () => {
    const ada = await person("rotation");
    const token = await mint({ ...(await sessionOf(ada.token)), kid: keys[1]!.kid, secret: keys[1]!.secret });
    await json(await call("/api/v1/me", { token }), 200);
  });

  it("refuse a malformed token", async () => {
    await expectRefused("not.a.jwt");
    await expectRefused("garbage");
  });

  it("refuse an expired token", async () => {
    const ada = await person("expired");
    await expectRefused(await mint({ ...(await sessionOf(ada.token)), exp: Math.floor(Date.now() / 1000) - 60 }), "TOKEN_EXPIRED");
  });

  it("refuse a token signed with another secret, or an unknown key id", async () => {
    const ada = await person("forged");
    const claims = await sessionOf(ada.token);
    await expectRefused(await mint({ ...claims, secret: new TextEncoder().encode("x".repeat(48)) }));
    await expectRefused(await mint({ ...claims, kid: "not-a-key" }));
  });

  it('refuse alg "none"', async () => {
    const ada = await person("none");
    const { sub, sid } = await sessionOf(ada.token);
    const unsigned = new UnsecuredJWT({ sid })
      .setSubject(sub)
      .setIssuer("https://api.datacrafted.app")
      .setAudience("datacrafted-api")
      .setExpirationTime("5m")
      .encode();
    await expectRefused(unsigned);
  });

  it("refuse the wrong audience or issuer", async () => {
    const ada = await person("aud");
    const claims = await sessionOf(ada.token);
    await expectRefused(await mint({ ...claims, aud: "another-api" }));
    await expectRefused(await mint({ ...claims, iss: "https://evil.example.net" }));
  });

  it("refuse a valid token of a deleted user", async () => {
    const ada = await person("deleted");
    await createDb(env).update(users).set({ deletedAt: new Date() }).where(eq(users.email, ada.email));
    await expectRefused(ada.token);
  });

  it("refuse a valid token of a banned user, everywhere", async () => {
    const ada = await person("banned");
    await createDb(env).update(users).set({ status: "banned" }).where(eq(users.email, ada.email));
    await expectRefused(ada.token);
    await expectProblem(
      await call("/api/v1/auth/signin", { method: "POST", body: { email: ada.email, password: ada.password } }),
      403,
      "FORBIDDEN",
    );
    await expectProblem(
      await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: ada.tokens.refreshToken } }),
      401,
      "INVALID_TOKEN",
    );
  });

  it("refuse a token whose session has expired", async () => {
    const ada = await person("session-expired");
    const { sid } = await sessionOf(ada.token);
    await createDb(env).update(authSessions).set({ expiresAt: sql`now() - interval '1 minute'` }).where(eq(authSessions.id, sid));
    await expectRefused(ada.token);
  });

  it("refuse other schemes and a missing header", async () => {
    const basic = await call("/api/v1/me", { headers: { Authorization: "Basic dXNlcjpwYXNz" } });
    await expectProblem(basic, 401, "INVALID_TOKEN");
    const none = await call("/api/v1/me");
    await expectProblem(none, 401, "UNAUTHORIZED");
    expect(none.headers.get("WWW-Authenticate")).toBe('Bearer realm="datacrafted-api"');
  });
});

describe("external identity provider tokens", () => {
  const idpKey = () => importJWK(oidc.privateJwk, "RS256");
  const external = async (claims: Record<string, unknown>, { aud = oidc.audience, iss = oidc.issuer, exp = "5m" } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: oidc.privateJwk.kid })
      .setIssuer(iss)
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(await idpKey());

  it("provision the account on the first valid token, then recognise it, fetching the JWKS once", async () => {
    const subject = `auth0|${crypto.randomUUID()}`;
    const email = `grace-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const token = await external({ sub: subject, email, email_verified: true, name: "Grace Hopper" });
    const jwksFetches = async () => ((await (await fetch(oidc.statsUrl)).json()) as { jwksFetches: number }).jwksFetches;
    const first = await json<{ id: string; email: string; name: string; organizations: { personal: boolean; role: string }[] }>(
      await call("/api/v1/me", { token }),
      200,
    );
    // Other files' isolates fetch the JWKS too (each keeps its own cache): this one fetched it for the first token, then never again.
    const afterFirst = await jwksFetches();
    expect(first).toMatchObject({ email, name: "Grace Hopper", organizations: [{ personal: true, role: "owner" }] });
    const again = await json<{ id: string }>(await call("/api/v1/me", { token: await external({ sub: subject, email }) }), 200);
    expect(again.id).toBe(first.id);
    const session = await json<{ method: string; session: null }>(await call("/api/v1/auth/session", { token }), 200);
    expect(session).toMatchObject({ method: "oidc", session: null });
    expect(await jwksFetches()).toBe(afterFirst);
  });

  it("refuse the wrong audience, an expired token and a token the provider did not sign", async () => {
    const claims = { sub: `auth0|${crypto.randomUUID()}`, email: "x@example.com" };
    await expectRefused(await external(claims, { aud: "someone-else" }));
    await expectRefused(await external(claims, { exp: "-1m" }), "TOKEN_EXPIRED");
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", kid: oidc.privateJwk.kid })
      .setIssuer(oidc.issuer)
      .setAudience(oidc.audience)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("y".repeat(48)));
    await expectRefused(forged);
  });
});
