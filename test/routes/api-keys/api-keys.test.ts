// API keys through the Worker: shown once, stored hashed, scoped, revocable, bound to one organization.
import { env } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { apiKeys } from "../../../src/db/schema.ts";
import { sha256Hex } from "../../../src/lib/crypto.ts";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  scopes: string[];
}

async function createKey(owner: Person, slug: string, body: Record<string, unknown> = { name: "CI" }): Promise<CreatedKey> {
  return json<CreatedKey>(await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: owner.token, body }), 201);
}

describe("creating a key", () => {
  it("shows the secret once and keeps only its hash", async () => {
    const owner = await person("keys");
    const slug = await team(owner);
    const response = await call(`/api/v1/orgs/${slug}/api-keys`, {
      method: "POST",
      token: owner.token,
      body: { name: "CI", scopes: ["read", "write"], expiresInDays: 30 },
    });
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const created = await json<CreatedKey & { expiresAt: string }>(response, 201);
    expect(created.key).toMatch(/^dck_[A-Za-z0-9]{8}_[\w-]{43}$/);
    expect(created.key.startsWith(`${created.prefix}_`)).toBe(true);
    expect(created.scopes).toEqual(["read", "write"]);
    expect(new Date(created.expiresAt).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    const listed = await json<{ data: Record<string, unknown>[] }>(
      await call(`/api/v1/orgs/${slug}/api-keys`, { token: owner.token }),
      200,
    );
    expect(listed.data).toEqual([
      expect.objectContaining({ id: created.id, name: "CI", prefix: created.prefix, lastUsedAt: null, revokedAt: null }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(created.key);
    const [row] = await createDb(env).select({ hash: apiKeys.keyHash }).from(apiKeys).where(eq(apiKeys.id, created.id));
    expect(row?.hash).toBe(await sha256Hex(created.key));
  });

  it("is for admins and owners, not members, and never for a key", async () => {
    const [owner, member] = [await person("k-o"), await person("k-m")];
    const slug = await team(owner);
    await addMember(owner, slug, member, "member");
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: member.token, body: { name: "x" } }),
      403,
      "FORBIDDEN",
    );
    const writer = await createKey(owner, slug, { name: "writer", scopes: ["write"] });
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: writer.key, body: { name: "y" } }),
      403,
      "FORBIDDEN",
    );
    await expectProblem(await call(`/api/v1/orgs/${slug}/api-keys`, { token: writer.key }), 403, "FORBIDDEN");
  });

  it("validates the name and scopes", async () => {
    const owner = await person("k-v");
    const slug = await team(owner);
    const problem = await expectProblem(
      await call(`/api/v1/orgs/${slug}/api-keys`, {
        method: "POST",
        token: owner.token,
        body: { name: "", scopes: ["admin"], expiresInDays: 0 },
      }),
      400,
      "VALIDATION_FAILED",
    );
    expect(problem.errors?.map((error) => error.path).sort()).toEqual(["body.expiresInDays", "body.name", "body.scopes.0"]);
  });
});

describe("calling with a key", () => {
  it("authenticates as the organization, with its scopes, and records its use", async () => {
    const owner = await person("use");
    const slug = await team(owner);
    const key = await createKey(owner, slug, { name: "reader" });
    const org = await json<{ slug: string; role: string }>(await call(`/api/v1/orgs/${slug}`, { token: key.key }), 200);
    expect(org).toMatchObject({ slug, role: "viewer" });
    const listed = await json<{ data: { slug: string }[] }>(await call("/api/v1/orgs", { token: key.key }), 200);
    expect(listed.data.map((o) => o.slug)).toEqual([slug]);
    await expect
      .poll(async () => (await createDb(env).select({ at: apiKeys.lastUsedAt }).from(apiKeys).where(eq(apiKeys.id, key.id)))[0]?.at)
      .not.toBeNull();
  });

  it("refuses writes with a read-only key", async () => {
    const owner = await person("ro");
    const slug = await team(owner);
    const key = await createKey(owner, slug, { name: "reader", scopes: ["read"] });
    const response = await call(`/api/v1/orgs/${slug}`, { method: "PATCH", token: key.key, body: { name: "nope" } });
    await expectProblem(response, 403, "INSUFFICIENT_SCOPE");
    expect(response.headers.get("WWW-Authenticate")).toContain('error="insufficient_scope"');
  });

  it("sees only its own organization: the owner's other organizations are 404", async () => {
    const owner = await person("bound");
    const [slug, other] = [await team(owner, "A"), await team(owner, "B")];
    const key = await createKey(owner, slug);
    await expectProblem(await call(`/api/v1/orgs/${other}`, { token: key.key }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/orgs/${owner.personalOrg}/members`, { token: key.key }), 404, "NOT_FOUND");
  });

  it("is refused once revoked, expired, or unknown", async () => {
    const owner = await person("revoke");
    const slug = await team(owner);
    const [revoked, expired] = [await createKey(owner, slug, { name: "a" }), await createKey(owner, slug, { name: "b" })];
    expect((await call(`/api/v1/orgs/${slug}/api-keys/${revoked.id}`, { method: "DELETE", token: owner.token })).status).toBe(204);
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { token: revoked.key }), 401, "INVALID_TOKEN");
    await createDb(env).update(apiKeys).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(apiKeys.id, expired.id));
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { token: expired.key }), 401, "TOKEN_EXPIRED");
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { token: `${revoked.prefix}_${"A".repeat(43)}` }), 401, "INVALID_TOKEN");
  });
});

describe("another tenant", () => {
  it("cannot list, create or revoke keys of an organization it is not in", async () => {
    const [owner, stranger] = [await person("t-o"), await person("t-s")];
    const slug = await team(owner);
    const key = await createKey(owner, slug);
    await expectProblem(await call(`/api/v1/orgs/${slug}/api-keys`, { token: stranger.token }), 404, "NOT_FOUND");
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: stranger.token, body: { name: "x" } }),
      404,
      "NOT_FOUND",
    );
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/api-keys/${key.id}`, { method: "DELETE", token: stranger.token }),
      404,
      "NOT_FOUND",
    );
    // Nor revoke it through its own organization's path.
    await expectProblem(
      await call(`/api/v1/orgs/${stranger.personalOrg}/api-keys/${key.id}`, { method: "DELETE", token: stranger.token }),
      404,
      "NOT_FOUND",
    );
    await json(await call(`/api/v1/orgs/${slug}`, { token: key.key }), 200);
  });
});
