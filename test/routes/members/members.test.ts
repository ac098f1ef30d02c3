// Members and invitations through the Worker: who may invite, promote, remove; the last owner; another tenant's members.
import { describe, expect, it } from "vitest";
import { addMember, call, json, person, team, uniqueEmail } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface Member {
  userId: string;
  email: string;
  role: string;
}

const members = async (slug: string, token: string) => (await json<{ data: Member[] }>(await call(`/api/v1/orgs/${slug}/members?limit=100`, { token }), 200)).data;

describe("inviting", () => {
  it("adds a person who has an account at once", async () => {
    const [owner, ada] = [await person("owner"), await person("ada")];
    const slug = await team(owner);
    const member = await json<Member>(await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: owner.token, body: { email: ada.email, role: "admin" } }), 201);
    expect(member).toMatchObject({ userId: ada.userId, email: ada.email, role: "admin" });
    expect((await members(slug, owner.token)).map((m) => [m.email, m.role])).toEqual([[ada.email, "admin"], [owner.email, "owner"]]);
  });

  it("keeps an invitation for an address with no account, claimed when it signs up", async () => {
    const owner = await person("inviter");
    const slug = await team(owner);
    const email = uniqueEmail("newcomer");
    const invitation = await json<{ email: string; role: string }>(
      await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: owner.token, body: { email, role: "viewer" } }),
      202,
    );
    expect(invitation).toMatchObject({ email, role: "viewer" });
    const pending = await json<{ data: { email: string }[] }>(await call(`/api/v1/orgs/${slug}/invitations`, { token: owner.token }), 200);
    expect(pending.data.map((i) => i.email)).toEqual([email]);

    await call("/api/v1/auth/signup", { method: "POST", body: { email, password: "newcomer-password" } });
    const tokens = await json<{ accessToken: string }>(await call("/api/v1/auth/signin", { method: "POST", body: { email, password: "newcomer-password" } }), 200);
    const org = await json<{ role: string }>(await call(`/api/v1/orgs/${slug}`, { token: tokens.accessToken }), 200);
    expect(org.role).toBe("viewer");
    const after = await json<{ data: unknown[] }>(await call(`/api/v1/orgs/${slug}/invitations`, { token: owner.token }), 200);
    expect(after.data).toEqual([]);
  });

  it("refuses someone already a member with 409", async () => {
    const [owner, ada] = [await person("dup-o"), await person("dup-a")];
    const slug = await team(owner);
    await addMember(owner, slug, ada, "member");
    await expectProblem(await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: owner.token, body: { email: ada.email } }), 409, "CONFLICT");
  });

  it("is for admins and owners; only an owner grants owner", async () => {
    const [owner, admin, member, ada] = [await person("p-o"), await person("p-a"), await person("p-m"), await person("p-x")];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    await addMember(owner, slug, member, "member");
    await expectProblem(await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: member.token, body: { email: ada.email } }), 403, "FORBIDDEN");
    await expectProblem(await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: admin.token, body: { email: ada.email, role: "owner" } }), 403, "FORBIDDEN");
    await json(await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: admin.token, body: { email: ada.email, role: "member" } }), 201);
  });

  it("validates the address and the role", async () => {
    const owner = await person("val");
    const slug = await team(owner);
    const problem = await expectProblem(
      await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: owner.token, body: { email: "nope", role: "superuser" } }),
      400,
      "VALIDATION_FAILED",
    );
    expect(problem.errors?.map((error) => error.path).sort()).toEqual(["body.email", "body.role"]);
  });
});

describe("roles and removal", () => {
  it("lets an owner promote and demote, never the last owner", async () => {
    const [owner, ada] = [await person("r-o"), await person("r-a")];
    const slug = await team(owner);
    await addMember(owner, slug, ada, "member");
    const promoted = await json<Member>(await call(`/api/v1/orgs/${slug}/members/${ada.userId}`, { method: "PATCH", token: owner.token, body: { role: "owner" } }), 200);
    expect(promoted.role).toBe("owner");
    // Two owners: one may step down.
    await json(await call(`/api/v1/orgs/${slug}/members/${owner.userId}`, { method: "PATCH", token: owner.token, body: { role: "admin" } }), 200);
    // Now Ada is the last owner: she can neither be demoted nor leave.
    await expectProblem(await call(`/api/v1/orgs/${slug}/members/${ada.userId}`, { method: "PATCH", token: ada.token, body: { role: "member" } }), 409, "LAST_OWNER");
    await expectProblem(await call(`/api/v1/orgs/${slug}/members/${ada.userId}`, { method: "DELETE", token: ada.token }), 409, "LAST_OWNER");
  });

  it("keeps admins from touching owners", async () => {
    const [owner, admin] = [await person("t-o"), await person("t-a")];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    await expectProblem(await call(`/api/v1/orgs/${slug}/members/${owner.userId}`, { method: "PATCH", token: admin.token, body: { role: "viewer" } }), 403, "FORBIDDEN");
    await expectProblem(await call(`/api/v1/orgs/${slug}/members/${owner.userId}`, { method: "DELETE", token: admin.token }), 403, "FORBIDDEN");
  });

  it("lets an admin remove a member, and anyone leave", async () => {
    const [owner, admin, member, viewer] = [await person("l-o"), await person("l-a"), await person("l-m"), await person("l-v")];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    await addMember(owner, slug, member, "member");
    await addMember(owner, slug, viewer, "viewer");
    expect((await call(`/api/v1/orgs/${slug}/members/${member.userId}`, { method: "DELETE", token: admin.token })).status).toBe(204);
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { token: member.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/orgs/${slug}/members/${admin.userId}`, { method: "DELETE", token: viewer.token }), 403, "FORBIDDEN");
    expect((await call(`/api/v1/orgs/${slug}/members/${viewer.userId}`, { method: "DELETE", token: viewer.token })).status).toBe(204);
    expect((await members(slug, owner.token)).map((m) => m.email).sort()).toEqual([admin.email, owner.email].sort());
  });

  it("answers 404 for someone who is not a member", async () => {
    const [owner, ada] = [await person("nm-o"), await person("nm-a")];
    const slug = await team(owner);
    await expectProblem(await call(`/api/v1/orgs/${slug}/members/${ada.userId}`, { method: "PATCH", token: owner.token, body: { role: "admin" } }), 404, "NOT_FOUND");
  });
});

describe("another tenant", () => {
  it("gets 404 for every members route of an organization it is not in", async () => {
    const [owner, stranger] = [await person("x-o"), await person("x-s")];
    const slug = await team(owner);
    const routes: [string, string, unknown?][] = [
      ["GET", `/api/v1/orgs/${slug}/members`],
      ["GET", `/api/v1/orgs/${slug}/invitations`],
      ["POST", `/api/v1/orgs/${slug}/members`, { email: stranger.email }],
      ["PATCH", `/api/v1/orgs/${slug}/members/${owner.userId}`, { role: "viewer" }],
      ["DELETE", `/api/v1/orgs/${slug}/members/${owner.userId}`],
    ];
    for (const [method, path, body] of routes) await expectProblem(await call(path, { method, token: stranger.token, body }), 404, "NOT_FOUND");
  });
});
