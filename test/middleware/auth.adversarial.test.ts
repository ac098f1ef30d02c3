// Adversarial cases for the authenticate middleware (issue 14, item 12): claims that are not ids, and the scheme's case.
import { env } from "cloudflare:test";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { call, json, person } from "../support/harness.ts";
import { expectProblem } from "../support/problem.ts";

const [active] = env.AUTH_JWT_KEYS.split(",").map((entry) => {
  const at = entry.indexOf(":");
  return { kid: entry.slice(0, at), secret: new TextEncoder().encode(entry.slice(at + 1)) };
});

/** A token signed with our own key (as a buggy issuer or a leaked key would sign it), carrying any `sub` and `sid`. */
const mint = (sub: string, sid: string) =>
  new SignJWT({ sid, tier: "free" })
    .setProtectedHeader({ alg: "HS256", kid: active!.kid })
    .setSubject(sub)
    .setIssuer("https://api.datacrafted.app")
    .setAudience("datacrafted-api")
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(active!.secret);

const claimsOf = (token: string) =>
  JSON.parse(atob(token.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))) as { sub: string; sid: string };

describe("a properly signed token whose ids are not uuids", () => {
  const cases = [
    ["sub", "not-a-uuid"],
    ["sub", "00000000-0000-0000-0000-00000000000g"],
    ["sid", "1; DROP TABLE users"],
    ["sid", ""],
  ] as const;

  for (const [claim, value] of cases) {
    it(`is 401 INVALID_TOKEN, not a 500, when ${claim} is ${JSON.stringify(value)} (read and write routes)`, async () => {
      const ada = await person("bad-claim");
      const real = claimsOf(ada.token);
      const token = await mint(claim === "sub" ? value : real.sub, claim === "sid" ? value : real.sid);
      for (const [path, method, body] of [
        ["/api/v1/me", "GET", undefined],
        ["/api/v1/projects", "GET", undefined],
        ["/api/v1/orgs", "POST", { name: "Nope" }],
      ] as const) {
        const response = await call(path, { token, method, body });
        await expectProblem(response, 401, "INVALID_TOKEN");
        expect(response.headers.get("WWW-Authenticate")).toMatch(/error="invalid_token"/);
      }
    });
  }
});

describe("the Authorization scheme", () => {
  for (const scheme of ["bearer", "BEARER", "bEaReR"]) {
    it(`accepts "${scheme}" as Bearer (RFC 9110 §11.1: schemes are case-insensitive)`, async () => {
      const ada = await person("scheme");
      const me = await json<{ id: string }>(await call("/api/v1/me", { headers: { Authorization: `${scheme} ${ada.token}` } }), 200);
      expect(me.id).toBe(ada.userId);
    });
  }

  it("accepts a lower-case scheme with an API key too", async () => {
    const ada = await person("scheme-key");
    const created = await json<{ key: string }>(
      await call(`/api/v1/orgs/${ada.personalOrg}/api-keys`, { method: "POST", token: ada.token, body: { name: "k", scopes: ["read"] } }),
      201,
    );
    await json(await call(`/api/v1/orgs/${ada.personalOrg}`, { headers: { Authorization: `bearer ${created.key}` } }), 200);
  });

  it("still refuses another scheme", async () => {
    const ada = await person("scheme-basic");
    await expectProblem(await call("/api/v1/me", { headers: { Authorization: `Basic ${ada.token}` } }), 401, "INVALID_TOKEN");
  });
});
