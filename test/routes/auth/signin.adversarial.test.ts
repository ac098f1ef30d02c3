// Adversarial sign-in (issue 14, item 11): a stranger's wrong passwords must not lock the owner out of a device they signed in from.
import { describe, expect, it } from "vitest";
import { call, json, person, randomIp, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

const QUOTA = 5;

const signin = (email: string, password: string, headers: Record<string, string> = {}) =>
  call("/api/v1/auth/signin", { method: "POST", body: { email, password }, headers });

/** Signs in as the owner does from their browser, and returns the device cookie the answer set, as a Cookie header. */
async function deviceCookie(who: Person, headers: Record<string, string> = {}): Promise<string> {
  const response = await signin(who.email, who.password, headers);
  await json(response, 200);
  const setCookie = response.headers.get("Set-Cookie") ?? "";
  const match = /^(__Host-dc_device=[A-Za-z0-9_-]{43});/.exec(setCookie);
  expect(match, setCookie).not.toBeNull();
  return match![1]!;
}

/**
 * A stranger, from addresses of their own, guesses until the address's per-address quota is spent (the owner's own
 * sign-ins without a cookie spent part of it already) and is refused.
 */
async function lockOut(email: string) {
  for (let i = 0; ; i++) {
    const response = await signin(email, "wrong-guess-1");
    if (response.status === 429) {
      expect((await expectProblem(response, 429, "RATE_LIMITED")).policy).toBe("signin-email");
      return;
    }
    expect(i, "refused within the quota").toBeLessThan(QUOTA);
    await expectProblem(response, 401, "INVALID_CREDENTIALS");
  }
}

describe("the per-address sign-in limit", () => {
  it("sets a device cookie at a successful sign-in: __Host-, HttpOnly, Secure, SameSite=Strict, 90 days", async () => {
    const ada = await person("device-attrs");
    const response = await signin(ada.email, ada.password);
    await json(response, 200);
    const setCookie = response.headers.get("Set-Cookie")!;
    expect(setCookie).toMatch(/^__Host-dc_device=[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Max-Age=7776000/);
    expect(setCookie).not.toMatch(/Domain=/i);
  });

  it("lets the owner in from a device that signed in before, while a stranger has spent the address's quota", async () => {
    const ada = await person("device-owner");
    const cookie = await deviceCookie(ada);
    await lockOut(ada.email);
    const owner = await signin(ada.email, ada.password, { Cookie: cookie, "CF-Connecting-IP": randomIp() });
    expect((await json<{ accessToken: string }>(owner, 200)).accessToken).toEqual(expect.any(String));
  });

  it("still refuses every request without a known device once the address's quota is spent, the right password included", async () => {
    const ada = await person("device-none");
    await deviceCookie(ada);
    await lockOut(ada.email);
    await expectProblem(await signin(ada.email, ada.password), 429, "RATE_LIMITED");
  });

  it("gives a forged cookie, or one known only to another address, no bucket of its own", async () => {
    const [ada, eve] = [await person("device-forged-a"), await person("device-forged-e")];
    const evesCookie = await deviceCookie(eve);
    await lockOut(ada.email);
    await expectProblem(await signin(ada.email, ada.password, { Cookie: `__Host-dc_device=${"A".repeat(43)}` }), 429, "RATE_LIMITED");
    await expectProblem(await signin(ada.email, ada.password, { Cookie: evesCookie }), 429, "RATE_LIMITED");
    // Without the __Host- prefix the cookie is not ours either.
    await expectProblem(await signin(ada.email, ada.password, { Cookie: evesCookie.replace("__Host-", "") }), 429, "RATE_LIMITED");
  });

  it("limits a known device too: its own bucket has the same quota", async () => {
    const ada = await person("device-limited");
    const cookie = await deviceCookie(ada);
    for (let i = 0; i < QUOTA; i++)
      await expectProblem(await signin(ada.email, "wrong-guess-2", { Cookie: cookie }), 401, "INVALID_CREDENTIALS");
    const refused = await signin(ada.email, ada.password, { Cookie: cookie });
    expect((await expectProblem(refused, 429, "RATE_LIMITED")).policy).toBe("signin-email");
    // The device's failures did not spend the address's shared quota.
    await json(await signin(ada.email, ada.password), 200);
  });
});
