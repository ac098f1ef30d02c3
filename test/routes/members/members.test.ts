// Members and invitations through the Worker: who may invite, promote, remove; the last owner; another tenant's members.
import { describe, expect, it } from "vitest";
import { addMember, call, invite, json, mailTo, person, team, uniqueEmail, verifyByEmail } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface Member {
  userId: string;
  email: string;
  role: string;
}

const members = async (slug: string, token: string) =>
  (await json<{ data: Member[] }>(await call(`/api/v1/orgs/${slug}/members?limit=100`, { token }), 200)).data;

interface Invitation {
  id: string;
  email: string;
  role: string;
  status: string;
  invitedBy: string | null;
  createdAt: string;
  expiresAt: string;
}

const accept = (token: string, as: string) =>
  call(`/api/v1/invitations/${encodeURIComponent(token)}/accept`, { method: "POST", token: as });

describe("inviting", () => {
  it("invites a person who has an account: 202, an emailed link, and a membership only once they accept", async () => {
    const [owner, ada] = [await person("owner"), await person("ada")];
    const slug = await team(owner);
    const { invitation, token } = await invite(owner, slug, ada.email, "admin");
    expect(invitation).toMatchObject({ email: ada.email, role: "admin", status: "pending", invitedBy: owner.userId });
    expect(new Date(invitation.expiresAt).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    // Nobody joins without consent.
    expect((await members(slug, owner.token)).map((m) => m.email)).toEqual([owner.email]);
    const joined = await json<{ organization: { slug: string }; role: string }>(await accept(token, ada.token), 200);
    expect(joined).toMatchObject({ organization: { slug }, role: "admin" });
    expect((await members(slug, owner.token)).map((m) => [m.email, m.role])).toEqual([
      [ada.email, "admin"],
      [owner.email, "owner"],
    ]);
    const pending = await json<{ data: Invitation[] }>(await call(`/api/v1/orgs/${slug}/invitations`, { token: owner.token }), 200);
    expect(pending.data).toEqual([]);
  });

  it("keeps an invitation for an address with no account; it signs up, verifies, then accepts", async () => {
    const owner = await person("inviter", "Grace Hopper");
    const slug = await team(owner, "Analytics <Team>");
    const email = uniqueEmail("newcomer");
    const { invitation, token } = await invite(owner, slug, email, "viewer");
    expect(invitation).toMatchObject({ email, role: "viewer", status: "pending" });
    const [message] = await mailTo(email);
    expect(message!.subject).toBe("Grace Hopper invited you to Analytics <Team> on Datacrafted");
    // A name someone typed is escaped in the HTML part.
    expect(message!.html).toContain("Analytics &lt;Team&gt;");
    expect(message!.html).not.toContain("<Team>");
    const pending = await json<{ data: Invitation[] }>(await call(`/api/v1/orgs/${slug}/invitations`, { token: owner.token }), 200);
    expect(pending.data.map((i) => [i.id, i.email, i.status])).toEqual([[invitation.id, email, "pending"]]);

    await json(await call("/api/v1/auth/signup", { method: "POST", body: { email, password: "newcomer-password" } }), 202);
    const tokens = await json<{ accessToken: string }>(
      await call("/api/v1/auth/signin", { method: "POST", body: { email, password: "newcomer-password" } }),
      200,
    );
    // Signing up claims nothing.
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { token: tokens.accessToken }), 404, "NOT_FOUND");
    await verifyByEmail(email);
    await json(await accept(token, tokens.accessToken), 200);
    const org = await json<{ role: string }>(await call(`/api/v1/orgs/${slug}`, { token: tokens.accessToken }), 200);
    expect(org.role).toBe("viewer");
    const after = await json<{ data: unknown[] }>(await call(`/api/v1/orgs/${slug}/invitations`, { token: owner.token }), 200);
    expect(after.data).toEqual([]);
  });

  it("answers an existing member's address with the same 202; accepting it again is ALREADY_MEMBER", async () => {
    const [owner, ada] = [await person("dup-o"), await person("dup-a")];
    const slug = await team(owner);
    await addMember(owner, slug, ada, "member");
    const { invitation, token } = await invite(owner, slug, ada.email, "admin");
    expect(invitation).toMatchObject({ email: ada.email, role: "admin", status: "pending" });
    await expectProblem(await accept(token, ada.token), 409, "ALREADY_MEMBER");
    expect((await members(slug, owner.token)).find((m) => m.userId === ada.userId)?.role).toBe("member");
  });

  it("replaces a pending invitation when the address is invited again: new role, new link, the old link dead", async () => {
    const [owner, ada] = [await person("re-o"), await person("re-a")];
    const slug = await team(owner);
    const first = await invite(owner, slug, ada.email, "viewer");
    const second = await invite(owner, slug, ada.email, "admin");
    expect(second.invitation.id).toBe(first.invitation.id);
    expect(second.token).not.toBe(first.token);
    await expectProblem(await accept(first.token, ada.token), 404, "NOT_FOUND");
    expect((await json<{ role: string }>(await accept(second.token, ada.token), 200)).role).toBe("admin");
  });

  it("pages the pending invitations with a cursor", async () => {
    const owner = await person("page-o");
    const slug = await team(owner);
    const emails = [uniqueEmail("p1"), uniqueEmail("p2"), uniqueEmail("p3")];
    for (const email of emails) await invite(owner, slug, email);
    const first = await call(`/api/v1/orgs/${slug}/invitations?limit=2`, { token: owner.token });
    expect(first.headers.get("Link")).toMatch(/rel="next"/);
    const page1 = await json<{ data: Invitation[]; nextCursor: string }>(first, 200);
    const page2 = await json<{ data: Invitation[]; nextCursor: string | null }>(
      await call(`/api/v1/orgs/${slug}/invitations?limit=2&cursor=${page1.nextCursor}`, { token: owner.token }),
      200,
    );
    expect(page2.nextCursor).toBeNull();
    expect([...page1.data, ...page2.data].map((i) => i.email)).toEqual([...emails].reverse());
  });

  it("is for admins and owners; only an owner grants owner", async () => {
    const [owner, admin, member, ada] = [await person("p-o"), await person("p-a"), await person("p-m"), await person("p-x")];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    await addMember(owner, slug, member, "member");
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: member.token, body: { email: ada.email } }),
      403,
      "FORBIDDEN",
    );
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: admin.token, body: { email: ada.email, role: "owner" } }),
      403,
      "FORBIDDEN",
    );
    await json(
      await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: admin.token, body: { email: ada.email, role: "member" } }),
      202,
    );
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
    const promoted = await json<Member>(
      await call(`/api/v1/orgs/${slug}/members/${ada.userId}`, { method: "PATCH", token: owner.token, body: { role: "owner" } }),
      200,
    );
    expect(promoted.role).toBe("owner");
    // Two owners: one may step down.
    await json(
      await call(`/api/v1/orgs/${slug}/members/${owner.userId}`, { method: "PATCH", token: owner.token, body: { role: "admin" } }),
      200,
    );
    // Now Ada is the last owner: she can neither be demoted nor leave.
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/members/${ada.userId}`, { method: "PATCH", token: ada.token, body: { role: "member" } }),
      409,
      "LAST_OWNER",
    );
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/members/${ada.userId}`, { method: "DELETE", token: ada.token }),
      409,
      "LAST_OWNER",
    );
  });

  it("keeps admins from touching owners", async () => {
    const [owner, admin] = [await person("t-o"), await person("t-a")];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/members/${owner.userId}`, { method: "PATCH", token: admin.token, body: { role: "viewer" } }),
      403,
      "FORBIDDEN",
    );
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/members/${owner.userId}`, { method: "DELETE", token: admin.token }),
      403,
      "FORBIDDEN",
    );
  });

  it("lets an admin remove a member, and anyone leave", async () => {
    const [owner, admin, member, viewer] = [await person("l-o"), await person("l-a"), await person("l-m"), await person("l-v")];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    await addMember(owner, slug, member, "member");
    await addMember(owner, slug, viewer, "viewer");
    expect((await call(`/api/v1/orgs/${slug}/members/${member.userId}`, { method: "DELETE", token: admin.token })).status).toBe(204);
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { token: member.token }), 404, "NOT_FOUND");
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/members/${admin.userId}`, { method: "DELETE", token: viewer.token }),
      403,
      "FORBIDDEN",
    );
    expect((await call(`/api/v1/orgs/${slug}/members/${viewer.userId}`, { method: "DELETE", token: viewer.token })).status).toBe(204);
    expect((await members(slug, owner.token)).map((m) => m.email).sort()).toEqual([admin.email, owner.email].sort());
  });

  it("answers 404 for someone who is not a member", async () => {
    const [owner, ada] = [await person("nm-o"), await person("nm-a")];
    const slug = await team(owner);
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/members/${ada.userId}`, { method: "PATCH", token: owner.token, body: { role: "admin" } }),
      404,
      "NOT_FOUND",
    );
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
      ["POST", `/api/v1/orgs/${slug}/invitations/${crypto.randomUUID()}/resend`],
      ["DELETE", `/api/v1/orgs/${slug}/invitations/${crypto.randomUUID()}`],
    ];
    for (const [method, path, body] of routes)
      await expectProblem(await call(path, { method, token: stranger.token, body }), 404, "NOT_FOUND");
  });
});
