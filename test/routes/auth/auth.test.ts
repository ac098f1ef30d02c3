// Sign-up, sign-in, refresh rotation and reuse detection, sign-out, session: through the Worker against the real database.
import { env } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { authRefreshTokens, authSessions, users } from "../../../src/db/schema.ts";
import { sha256Hex } from "../../../src/lib/crypto.ts";
import { call, json, person, signIn, uniqueEmail } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

const db = () => createDb(env);

describe("POST /auth/signup", () => {
  it("answers alike for a new and a taken address, and creates the account only once", async () => {
    const email = uniqueEmail("twice");
    const first = await call("/api/v1/auth/signup", { method: "POST", body: { email, password: "first-password-1", name: "Ada" } });
    const second = await call("/api/v1/auth/signup", {
      method: "POST",
      body: { email: email.toUpperCase(), password: "second-password-2" },
    });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(await second.json()).toEqual(await first.json());
    // The first password works, the second does not: the taken address was left alone.
    await signIn(email, "first-password-1");
    await expectProblem(
      await call("/api/v1/auth/signin", { method: "POST", body: { email, password: "second-password-2" } }),
      401,
      "INVALID_CREDENTIALS",
    );
  });

  it("stores the password only as a PBKDF2 hash with its parameters", async () => {
    const email = uniqueEmail("hash");
    await call("/api/v1/auth/signup", { method: "POST", body: { email, password: "my-secret-password" } });
    const [row] = await db().select({ hash: users.passwordHash }).from(users).where(eq(users.email, email));
    expect(row?.hash).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(row?.hash).not.toContain("my-secret-password");
  });

  it("gives every new account a personal organization it owns", async () => {
    const ada = await person("ada", "Ada Lovelace");
    const me = await json<{ name: string; organizations: unknown[] }>(await call("/api/v1/me", { token: ada.token }), 200);
    expect(me.name).toBe("Ada Lovelace");
    expect(me.organizations).toEqual([
      { id: expect.any(String), slug: ada.personalOrg, name: "Ada Lovelace's workspace", personal: true, role: "owner" },
    ]);
  });

  it("refuses invalid input, naming each field", async () => {
    const response = await call("/api/v1/auth/signup", {
      method: "POST",
      body: { email: "not-an-email", password: "short", name: "x".repeat(10_000) },
    });
    const problem = await expectProblem(response, 400, "VALIDATION_FAILED");
    expect(problem.errors?.map((error) => error.path).sort()).toEqual(["body.email", "body.name", "body.password"]);
  });
});

describe("POST /auth/signin", () => {
  it("returns a short-lived access token and a refresh token", async () => {
    const ada = await person("signin");
    expect(ada.tokens).toEqual({
      tokenType: "Bearer",
      accessToken: expect.stringMatching(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/),
      expiresIn: 900,
      refreshToken: expect.stringMatching(/^dcr_[\w-]{43}$/),
      refreshTokenExpiresAt: expect.any(String),
    });
    const header = JSON.parse(atob(ada.token.split(".")[0]!)) as { alg: string; kid: string };
    expect(header).toMatchObject({ alg: "HS256", kid: "test-2" });
  });

  it("answers a wrong password and an unknown address identically", async () => {
    const ada = await person("wrong");
    const wrong = await call("/api/v1/auth/signin", { method: "POST", body: { email: ada.email, password: "not-the-password" } });
    const unknown = await call("/api/v1/auth/signin", {
      method: "POST",
      body: { email: uniqueEmail("nobody"), password: "not-the-password" },
    });
    const [a, b] = [await expectProblem(wrong, 401, "INVALID_CREDENTIALS"), await expectProblem(unknown, 401, "INVALID_CREDENTIALS")];
    expect({ ...a, requestId: null }).toEqual({ ...b, requestId: null });
    expect(wrong.headers.get("WWW-Authenticate")).toBe(unknown.headers.get("WWW-Authenticate"));
  });

  it("matches the address case-insensitively", async () => {
    const ada = await person("case");
    await signIn(ada.email.toUpperCase(), ada.password);
  });

  it("records the session's user agent and IP", async () => {
    const ada = await person("device");
    const response = await call("/api/v1/auth/signin", {
      method: "POST",
      body: { email: ada.email, password: ada.password },
      headers: { "User-Agent": "curl/8.5.0", "CF-Connecting-IP": "203.0.113.7" },
    });
    const { accessToken } = await json<{ accessToken: string }>(response, 200);
    const session = await json<{ session: Record<string, unknown>; method: string }>(
      await call("/api/v1/auth/session", { token: accessToken }),
      200,
    );
    expect(session.method).toBe("password");
    expect(session.session).toMatchObject({ userAgent: "curl/8.5.0", ip: "203.0.113.7", expiresAt: expect.any(String) });
  });
});

describe("POST /auth/refresh", () => {
  it("rotates: new tokens each time, the refresh token stored only as a hash", async () => {
    const ada = await person("rotate");
    const next = await json<{ accessToken: string; refreshToken: string }>(
      await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: ada.tokens.refreshToken } }),
      200,
    );
    expect(next.refreshToken).not.toBe(ada.tokens.refreshToken);
    await json(await call("/api/v1/me", { token: next.accessToken }), 200);
    const stored = await db()
      .select()
      .from(authRefreshTokens)
      .where(eq(authRefreshTokens.tokenHash, await sha256Hex(next.refreshToken)));
    expect(stored).toHaveLength(1);
    const raw = await db().execute(sql`SELECT count(*)::int AS n FROM auth_refresh_tokens WHERE token_hash = ${next.refreshToken}`);
    expect(raw.rows).toEqual([{ n: 0 }]);
  });

  it("treats a spent refresh token as theft: the whole session family ends", async () => {
    const ada = await person("reuse");
    const rotated = await json<{ accessToken: string; refreshToken: string }>(
      await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: ada.tokens.refreshToken } }),
      200,
    );
    const replay = await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: ada.tokens.refreshToken } });
    await expectProblem(replay, 401, "TOKEN_REUSED");
    // The thief's replay also ends the legitimate successor and its access token.
    await expectProblem(
      await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: rotated.refreshToken } }),
      401,
      "INVALID_TOKEN",
    );
    await expectProblem(await call("/api/v1/me", { token: rotated.accessToken }), 401, "INVALID_TOKEN");
    const [session] = await db()
      .select({ reason: authSessions.revokedReason })
      .from(authSessions)
      .innerJoin(authRefreshTokens, eq(authRefreshTokens.sessionId, authSessions.id))
      .where(eq(authRefreshTokens.tokenHash, await sha256Hex(rotated.refreshToken)));
    expect(session?.reason).toBe("reuse");
  });

  it("refuses an unknown or malformed refresh token", async () => {
    await expectProblem(
      await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: "dcr_not-a-real-token" } }),
      401,
      "INVALID_TOKEN",
    );
    await expectProblem(await call("/api/v1/auth/refresh", { method: "POST", body: {} }), 400, "VALIDATION_FAILED");
  });
});

describe("POST /auth/signout", () => {
  it("ends the session: its access and refresh tokens stop working at once", async () => {
    const ada = await person("signout");
    expect((await call("/api/v1/auth/signout", { method: "POST", token: ada.token })).status).toBe(204);
    await expectProblem(await call("/api/v1/me", { token: ada.token }), 401, "INVALID_TOKEN");
    await expectProblem(
      await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: ada.tokens.refreshToken } }),
      401,
      "INVALID_TOKEN",
    );
  });

  it("leaves the person's other sessions alone", async () => {
    const ada = await person("devices");
    const laptop = await signIn(ada.email, ada.password);
    await call("/api/v1/auth/signout", { method: "POST", token: ada.token });
    await json(await call("/api/v1/me", { token: laptop.accessToken }), 200);
  });

  it("needs credentials", async () => {
    const response = await call("/api/v1/auth/signout", { method: "POST" });
    await expectProblem(response, 401, "UNAUTHORIZED");
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="datacrafted-api"');
  });
});
