// Two-factor sign-in end to end, with codes from an authenticator library nobody here wrote (otpauth) reading our otpauth:// URI.
import * as OTPAuth from "otpauth";
import { describe, expect, it } from "vitest";
import { expectProblem } from "../../support/problem.ts";
import { call, json, type Person, person, team } from "../../support/harness.ts";
import { code, enrolled } from "../../support/mfa.ts";

const signin = (who: Person) => call("/api/v1/auth/signin", { method: "POST", body: { email: who.email, password: who.password } });
const challengeOf = async (who: Person) => (await json<{ status: string; mfaToken: string }>(await signin(who), 200)).mfaToken;
const complete = (body: Record<string, unknown>) => call("/api/v1/auth/mfa", { method: "POST", body });

describe("enrolling a TOTP factor", () => {
  it("is pending until a first code confirms it, which answers ten recovery codes", async () => {
    const who = await person("enrol");
    expect(await json(await call("/api/v1/me/mfa", { token: who.token }), 200)).toEqual({
      totp: { enabled: false, pending: false, confirmedAt: null },
      recoveryCodesLeft: 0,
    });
    const { otpauthUri } = await json<{ otpauthUri: string }>(await call("/api/v1/me/mfa/totp", { method: "POST", token: who.token }), 201);
    const totp = OTPAuth.URI.parse(otpauthUri) as OTPAuth.TOTP;
    expect(totp.issuer).toBe("Datacrafted");
    expect(totp.label).toBe(who.email);
    expect(await json<{ totp: { pending: boolean } }>(await call("/api/v1/me/mfa", { token: who.token }), 200)).toMatchObject({
      totp: { enabled: false, pending: true },
    });

    // Until confirmed, sign-in is unchanged.
    expect(await json(await signin(who), 200)).toHaveProperty("accessToken");
    const wrong = String((Number(await code(totp)) + 1) % 1_000_000).padStart(6, "0");
    await expectProblem(
      await call("/api/v1/me/mfa/totp/confirm", { method: "POST", token: who.token, body: { code: wrong } }),
      422,
      "MFA_CODE_INVALID",
    );

    const confirmed = await call("/api/v1/me/mfa/totp/confirm", { method: "POST", token: who.token, body: { code: await code(totp) } });
    const { recoveryCodes } = await json<{ recoveryCodes: string[] }>(confirmed, 200);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    const status = await json<{ totp: { enabled: boolean; confirmedAt: string }; recoveryCodesLeft: number }>(
      await call("/api/v1/me/mfa", { token: who.token }),
      200,
    );
    expect(status.totp.enabled).toBe(true);
    expect(Date.parse(status.totp.confirmedAt)).not.toBeNaN();
    expect(status.recoveryCodesLeft).toBe(10);

    // A confirmed factor is not replaced by starting again, nor confirmed twice.
    await expectProblem(await call("/api/v1/me/mfa/totp", { method: "POST", token: who.token }), 409, "MFA_ALREADY_ENABLED");
    await expectProblem(
      await call("/api/v1/me/mfa/totp/confirm", { method: "POST", token: who.token, body: { code: await code(totp, 1) } }),
      409,
      "MFA_ALREADY_ENABLED",
    );
  });

  it("starting again before confirming replaces the pending secret: the old one's codes no longer confirm", async () => {
    const who = await person("restart");
    const first = OTPAuth.URI.parse(
      (await json<{ otpauthUri: string }>(await call("/api/v1/me/mfa/totp", { method: "POST", token: who.token }), 201)).otpauthUri,
    ) as OTPAuth.TOTP;
    const second = OTPAuth.URI.parse(
      (await json<{ otpauthUri: string }>(await call("/api/v1/me/mfa/totp", { method: "POST", token: who.token }), 201)).otpauthUri,
    ) as OTPAuth.TOTP;
    expect(second.secret.base32).not.toBe(first.secret.base32);
    const stale = await code(first);
    if (stale !== (await code(second))) {
      await expectProblem(
        await call("/api/v1/me/mfa/totp/confirm", { method: "POST", token: who.token, body: { code: stale } }),
        422,
        "MFA_CODE_INVALID",
      );
    }
    await json(await call("/api/v1/me/mfa/totp/confirm", { method: "POST", token: who.token, body: { code: await code(second) } }), 200);
  });

  it("refuses confirming with nothing pending, malformed codes, API keys and anonymous callers", async () => {
    const who = await person("nothing");
    await expectProblem(
      await call("/api/v1/me/mfa/totp/confirm", { method: "POST", token: who.token, body: { code: "123456" } }),
      409,
      "MFA_NOT_ENROLLED",
    );
    await expectProblem(
      await call("/api/v1/me/mfa/totp/confirm", { method: "POST", token: who.token, body: { code: "12345" } }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await call("/api/v1/me/mfa/totp/disable", {
        method: "POST",
        token: who.token,
        body: { code: "123456", recoveryCode: "aaaaa-bbbbb" },
      }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(await call("/api/v1/me/mfa", {}), 401, "UNAUTHORIZED");
    const slug = await team(who);
    const { key } = await json<{ key: string }>(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: who.token, body: { name: "ci", scopes: ["read", "write"] } }),
      201,
    );
    await expectProblem(await call("/api/v1/me/mfa/totp", { method: "POST", token: key }), 403, "FORBIDDEN");
  });
});

describe("signing in with a second factor", () => {
  it("answers a challenge instead of tokens; a code completes it once, and the same code again is refused", async () => {
    const { who, totp } = await enrolled("signin");
    const first = await signin(who);
    expect(first.headers.get("Cache-Control")).toBe("no-store");
    const challenge = await json<{ status: string; mfaToken: string; expiresIn: number; methods: string[] }>(first, 200);
    expect(challenge).toMatchObject({ status: "mfa_required", methods: ["totp", "recovery_code"] });
    expect(challenge).not.toHaveProperty("accessToken");
    expect(challenge.expiresIn).toBeGreaterThan(0);
    // The challenge is no access token.
    await expectProblem(await call("/api/v1/me", { token: challenge.mfaToken }), 401, "INVALID_TOKEN");

    const now = await code(totp);
    const tokens = await json<{ accessToken: string; refreshToken: string }>(
      await complete({ mfaToken: challenge.mfaToken, code: now }),
      200,
    );
    expect(await json<{ id: string }>(await call("/api/v1/me", { token: tokens.accessToken }), 200)).toMatchObject({ id: who.userId });
    expect(
      await json(await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: tokens.refreshToken } }), 200),
    ).toHaveProperty("accessToken");

    // The challenge opened its session: it opens no second one, even with the next code.
    await expectProblem(await complete({ mfaToken: challenge.mfaToken, code: await code(totp, 1) }), 401, "MFA_CHALLENGE_INVALID");
    // A replay of the same code with a fresh challenge, and an older code, are both refused (failures leave the challenge usable).
    const again = await challengeOf(who);
    await expectProblem(await complete({ mfaToken: again, code: now }), 401, "MFA_CODE_REUSED");
    await expectProblem(await complete({ mfaToken: again, code: await code(totp, -1) }), 401, "MFA_CODE_REUSED");
    // The step after still works.
    expect(await json(await complete({ mfaToken: again, code: await code(totp, 1) }), 200)).toHaveProperty("accessToken");
  });

  it("takes each recovery code once, and only the account's own", async () => {
    const { who, recoveryCodes } = await enrolled("recovery");
    const other = await enrolled("recovery-other");
    const challenge = await challengeOf(who);
    await expectProblem(await complete({ mfaToken: challenge, recoveryCode: other.recoveryCodes[0] }), 401, "MFA_CODE_INVALID");
    // Typed back in capitals without the hyphen, it still counts.
    const typed = recoveryCodes[0]!.toUpperCase().replace("-", "");
    expect(await json(await complete({ mfaToken: challenge, recoveryCode: typed }), 200)).toHaveProperty("accessToken");
    await expectProblem(await complete({ mfaToken: await challengeOf(who), recoveryCode: recoveryCodes[0] }), 401, "MFA_CODE_INVALID");
    expect(await json<{ recoveryCodesLeft: number }>(await call("/api/v1/me/mfa", { token: who.token }), 200)).toMatchObject({
      recoveryCodesLeft: 9,
    });
  });

  it("refuses forged, foreign and access-token challenges", async () => {
    const { who, totp } = await enrolled("forged");
    await expectProblem(await complete({ mfaToken: "not-a-token", code: await code(totp) }), 401, "MFA_CHALLENGE_INVALID");
    await expectProblem(await complete({ mfaToken: who.token, code: await code(totp) }), 401, "MFA_CHALLENGE_INVALID");
    // Another account's challenge with this account's code: the code is checked against the challenge's account.
    const other = await enrolled("forged-other");
    await expectProblem(await complete({ mfaToken: await challengeOf(other.who), code: await code(totp) }), 401, "MFA_CODE_INVALID");
  });

  it("limits code attempts per account, from any address", async () => {
    const { who, totp } = await enrolled("guess");
    const right = await code(totp);
    const wrong = String((Number(right) + 500_000) % 1_000_000).padStart(6, "0");
    const challenge = await challengeOf(who);
    // Ten attempts per five minutes, and confirming the enrolment was the first.
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await complete({ mfaToken: challenge, code: wrong })).status);
    expect(statuses.slice(0, 9)).toEqual(Array(9).fill(401));
    expect(statuses[9]).toBe(429);
    // Even the right code waits for the window now, and so does managing the factor with a signed-in session.
    await expectProblem(await complete({ mfaToken: challenge, code: right }), 429, "RATE_LIMITED");
    await expectProblem(
      await call("/api/v1/me/mfa/recovery-codes", { method: "POST", token: who.token, body: { code: right } }),
      429,
      "RATE_LIMITED",
    );
  });
});

describe("managing the factor", () => {
  it("regenerates recovery codes with a current code (the old ones stop working), and disables with a recovery code", async () => {
    const { who, totp, recoveryCodes } = await enrolled("manage");
    const renewed = await json<{ recoveryCodes: string[] }>(
      await call("/api/v1/me/mfa/recovery-codes", { method: "POST", token: who.token, body: { code: await code(totp) } }),
      200,
    );
    expect(renewed.recoveryCodes).toHaveLength(10);
    expect(renewed.recoveryCodes.some((entry) => recoveryCodes.includes(entry))).toBe(false);
    await expectProblem(await complete({ mfaToken: await challengeOf(who), recoveryCode: recoveryCodes[1] }), 401, "MFA_CODE_INVALID");

    await expectProblem(
      await call("/api/v1/me/mfa/totp/disable", { method: "POST", token: who.token, body: { recoveryCode: recoveryCodes[2] } }),
      422,
      "MFA_CODE_INVALID",
    );
    const disabled = await call("/api/v1/me/mfa/totp/disable", {
      method: "POST",
      token: who.token,
      body: { recoveryCode: renewed.recoveryCodes[0] },
    });
    expect(disabled.status).toBe(204);
    expect(await json(await call("/api/v1/me/mfa", { token: who.token }), 200)).toEqual({
      totp: { enabled: false, pending: false, confirmedAt: null },
      recoveryCodesLeft: 0,
    });
    // Sign-in answers tokens again, and with no factor there is nothing to disable.
    expect(await json(await signin(who), 200)).toHaveProperty("accessToken");
    await expectProblem(
      await call("/api/v1/me/mfa/totp/disable", { method: "POST", token: who.token, body: { code: await code(totp) } }),
      409,
      "MFA_NOT_ENROLLED",
    );
  });
});
