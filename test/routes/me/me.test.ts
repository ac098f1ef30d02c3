// /me through the Worker: read, rename, and delete (soft, every credential revoked at once, the last owner protected).
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { organizations } from "../../../src/db/schema.ts";
import { addMember, call, json, person, team } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

describe("GET and PATCH /me", () => {
  it("reads and renames the caller", async () => {
    const ada = await person("me");
    const renamed = await json<{ name: string; email: string }>(
      await call("/api/v1/me", { method: "PATCH", token: ada.token, body: { name: "Ada L." } }),
      200,
    );
    expect(renamed).toMatchObject({ name: "Ada L.", email: ada.email });
    expect((await json<{ name: string }>(await call("/api/v1/me", { token: ada.token }), 200)).name).toBe("Ada L.");
  });

  it("refuses fields it does not own", async () => {
    const ada = await person("me-bad");
    await expectProblem(
      await call("/api/v1/me", { method: "PATCH", token: ada.token, body: { email: "new@example.com" } }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("is for people, not API keys", async () => {
    const owner = await person("me-key");
    const slug = await team(owner);
    const { key } = await json<{ key: string }>(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: owner.token, body: { name: "k" } }),
      201,
    );
    await expectProblem(await call("/api/v1/me", { token: key }), 403, "FORBIDDEN");
  });
});

describe("DELETE /me", () => {
  it("revokes every session and API key at once and refuses the account everywhere", async () => {
    const ada = await person("leaver");
    const laptop = await json<{ accessToken: string; refreshToken: string }>(
      await call("/api/v1/auth/signin", { method: "POST", body: { email: ada.email, password: ada.password } }),
      200,
    );
    const slug = await team(ada);
    const { key } = await json<{ key: string }>(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: ada.token, body: { name: "k" } }),
      201,
    );

    expect((await call("/api/v1/me", { method: "DELETE", token: ada.token })).status).toBe(204);
    for (const token of [ada.token, laptop.accessToken, key])
      await expectProblem(await call("/api/v1/orgs", { token }), 401, "INVALID_TOKEN");
    await expectProblem(
      await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: laptop.refreshToken } }),
      401,
      "INVALID_TOKEN",
    );
    await expectProblem(
      await call("/api/v1/auth/signin", { method: "POST", body: { email: ada.email, password: ada.password } }),
      401,
      "INVALID_CREDENTIALS",
    );
  });

  it("takes along organizations the person was alone in, and leaves the others", async () => {
    const [ada, bob] = [await person("alone"), await person("stays")];
    const shared = await team(bob, "Shared");
    await addMember(bob, shared, ada, "admin");
    const solo = await team(ada, "Solo");
    expect((await call("/api/v1/me", { method: "DELETE", token: ada.token })).status).toBe(204);
    const members = await json<{ data: { email: string }[] }>(await call(`/api/v1/orgs/${shared}/members`, { token: bob.token }), 200);
    expect(members.data.map((m) => m.email)).toEqual([bob.email]);
    const [soloRow, sharedRow] = await Promise.all(
      [solo, shared].map(
        async (slug) =>
          (await createDb(env).select({ deletedAt: organizations.deletedAt }).from(organizations).where(eq(organizations.slug, slug)))[0],
      ),
    );
    expect(soloRow?.deletedAt).toBeInstanceOf(Date);
    expect(sharedRow?.deletedAt).toBeNull();
  });

  it("refuses while the person is the last owner of an organization with other members", async () => {
    const [ada, bob] = [await person("last"), await person("member")];
    const slug = await team(ada);
    await addMember(ada, slug, bob, "member");
    const problem = await expectProblem(await call("/api/v1/me", { method: "DELETE", token: ada.token }), 409, "LAST_OWNER");
    expect(problem.detail).toContain(slug);
    await json(await call("/api/v1/me", { token: ada.token }), 200);
  });
});
