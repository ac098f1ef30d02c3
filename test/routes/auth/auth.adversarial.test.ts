// Adversarial cases for email verification and invitations (issue 14, items 1 and 9): each once reopened would fail here.
import { env } from "cloudflare:test";
import { and, eq, sql } from "drizzle-orm";
import { importJWK, SignJWT } from "jose";
import { describe, expect, inject, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { auditLogs, emailVerificationTokens, orgInvitations, users } from "../../../src/db/schema.ts";
import {
  addMember,
  call,
  invite,
  json,
  mailTo,
  mailedToken,
  person,
  signIn,
  team,
  uniqueEmail,
  unverifiedPerson,
  verifyByEmail,
  type Person,
} from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { eventually } from "../../support/eventually.ts";

const db = () => createDb(env);
const accept = (token: string, as: string) =>
  call(`/api/v1/invitations/${encodeURIComponent(token)}/accept`, { method: "POST", token: as });
const createKey = (who: Person, slug = who.personalOrg) =>
  call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: who.token, body: { name: "k", scopes: ["read", "write"] } });
const me = async (token: string) =>
  json<{ emailVerified: boolean; organizations: { slug: string }[] }>(await call("/api/v1/me", { token }), 200);

/** Time passing, without waiting for it: moves an expiry into the past. */
async function expireVerification(email: string) {
  await db()
    .update(emailVerificationTokens)
    .set({ expiresAt: sql`now() - interval '1 minute'` })
    .where(eq(emailVerificationTokens.email, email));
}
async function expireInvitation(id: string) {
  await db().update(orgInvitations).set({ expiresAt: sql`now() - interval '1 minute'` }).where(eq(orgInvitations.id, id));
}

describe("a stranger who signs up with an invited address", () => {
  it("gets no membership, cannot verify or accept, and cannot see the organization's keys", async () => {
    const owner = await person("victim-org");
    const slug = await team(owner, "Target");
    const victim = uniqueEmail("victim");
    const { invitation, token } = await invite(owner, slug, victim, "admin");
    await json(await createKey(owner, slug), 201);

    // The stranger signs up first with the invited address (the attack of issue 14, item 1).
    await json(await call("/api/v1/auth/signup", { method: "POST", body: { email: victim, password: "stranger-password" } }), 202);
    const stranger = (await signIn(victim, "stranger-password")).accessToken;
    const account = await me(stranger);
    expect(account.emailVerified).toBe(false);
    expect(account.organizations).toHaveLength(1);
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { token: stranger }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/orgs/${slug}/api-keys`, { token: stranger }), 404, "NOT_FOUND");
    // Even holding the token (say it leaked), an unverified account cannot use it.
    await expectProblem(await accept(token, stranger), 403, "EMAIL_NOT_VERIFIED");
    // The invitation is untouched, still waiting for whoever reads that mailbox.
    const pending = await json<{ data: { id: string; status: string }[] }>(
      await call(`/api/v1/orgs/${slug}/invitations`, { token: owner.token }),
      200,
    );
    expect(pending.data).toEqual([expect.objectContaining({ id: invitation.id, status: "pending" })]);
  });
});

describe("an unverified account", () => {
  it("can sign in but cannot create an API key until it verifies", async () => {
    const ada = await unverifiedPerson("nokey");
    expect((await me(ada.token)).emailVerified).toBe(false);
    await expectProblem(await createKey(ada), 403, "EMAIL_NOT_VERIFIED");
    await verifyByEmail(ada.email);
    expect((await me(ada.token)).emailVerified).toBe(true);
    await json(await createKey(ada), 201);
  });

  it("cannot accept an invitation to its own address until it verifies", async () => {
    const owner = await person("inv-owner");
    const slug = await team(owner);
    const ada = await unverifiedPerson("inv-ada");
    const { token } = await invite(owner, slug, ada.email, "member");
    await expectProblem(await accept(token, ada.token), 403, "EMAIL_NOT_VERIFIED");
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { token: ada.token }), 404, "NOT_FOUND");
    await verifyByEmail(ada.email);
    await json(await accept(token, ada.token), 200);
    expect((await json<{ role: string }>(await call(`/api/v1/orgs/${slug}`, { token: ada.token }), 200)).role).toBe("member");
  });
});

describe("verification links", () => {
  it("work once", async () => {
    const email = uniqueEmail("once");
    await json(await call("/api/v1/auth/signup", { method: "POST", body: { email, password: "once-password" } }), 202);
    const token = await mailedToken(email, "verification");
    expect(token).toMatch(/^dcv_[A-Za-z0-9_-]{43}$/);
    await json(await call("/api/v1/auth/verify-email", { method: "POST", body: { token } }), 200);
    await expectProblem(await call("/api/v1/auth/verify-email", { method: "POST", body: { token } }), 409, "VERIFICATION_TOKEN_USED");
  });

  it("expire", async () => {
    const ada = await unverifiedPerson("expiring");
    const token = await mailedToken(ada.email, "verification");
    await expireVerification(ada.email);
    await expectProblem(await call("/api/v1/auth/verify-email", { method: "POST", body: { token } }), 410, "VERIFICATION_TOKEN_EXPIRED");
    expect((await me(ada.token)).emailVerified).toBe(false);
  });

  it("refuse a token nobody issued", async () => {
    const problem = await expectProblem(
      await call("/api/v1/auth/verify-email", { method: "POST", body: { token: `dcv_${"A".repeat(43)}` } }),
      400,
      "VERIFICATION_TOKEN_INVALID",
    );
    expect(problem.errors).toEqual([{ path: "body.token", message: expect.any(String) }]);
  });

  it("are stored only as hashes", async () => {
    const ada = await unverifiedPerson("hashed");
    const token = await mailedToken(ada.email, "verification");
    const rows = await db().select().from(emailVerificationTokens).where(eq(emailVerificationTokens.email, ada.email));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it("are not sent again for a taken address: a second sign-up gets nothing", async () => {
    const ada = await person("taken");
    const before = (await mailTo(ada.email)).length;
    await json(await call("/api/v1/auth/signup", { method: "POST", body: { email: ada.email, password: "another-password" } }), 202);
    // A mail sent after the second sign-up's: once it has arrived, one from that sign-up would have too.
    const probe = uniqueEmail("probe");
    await json(await call("/api/v1/auth/signup", { method: "POST", body: { email: probe, password: "probe-password" } }), 202);
    await mailTo(probe);
    expect(await mailTo(ada.email)).toHaveLength(before);
  });
});

describe("resend-verification", () => {
  it("answers alike for an unknown, a verified and an unverified address; only the unverified one gets a link", async () => {
    const [verified, unverified] = [await person("rs-v"), await unverifiedPerson("rs-u")];
    const unknown = uniqueEmail("rs-none");
    const answers = [];
    for (const email of [unknown, verified.email, unverified.email]) {
      const response = await call("/api/v1/auth/resend-verification", { method: "POST", body: { email } });
      answers.push({ status: response.status, body: await response.text() });
    }
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(answers[0]!.status).toBe(202);
    // The second link also works (the first one still does too until used).
    const second = await mailedToken(unverified.email, "verification", 2);
    await json(await call("/api/v1/auth/verify-email", { method: "POST", body: { token: second } }), 200);
    expect((await me(unverified.token)).emailVerified).toBe(true);
    // Verifying spends the account's other links.
    const first = await mailedToken(unverified.email, "verification", 1);
    await expectProblem(
      await call("/api/v1/auth/verify-email", { method: "POST", body: { token: first } }),
      400,
      "VERIFICATION_TOKEN_INVALID",
    );
    const probe = uniqueEmail("rs-probe");
    await json(await call("/api/v1/auth/signup", { method: "POST", body: { email: probe, password: "probe-password" } }), 202);
    await mailTo(probe);
    expect(await mailTo(verified.email)).toHaveLength(1);
    expect(await mailTo(unknown, 0)).toHaveLength(0);
  });

  it("is limited per address, the same for a registered one and an unknown one", async () => {
    for (const email of [(await unverifiedPerson("rl-u")).email, uniqueEmail("rl-none")]) {
      for (let i = 0; i < 3; i++) await json(await call("/api/v1/auth/resend-verification", { method: "POST", body: { email } }), 202);
      const problem = await expectProblem(
        await call("/api/v1/auth/resend-verification", { method: "POST", body: { email } }),
        429,
        "RATE_LIMITED",
      );
      expect(problem.policy).toBe("verification-email");
    }
  });
});

describe("invitation tokens", () => {
  it("work once, even when two requests race", async () => {
    const [owner, ada] = [await person("race-o"), await person("race-a")];
    const slug = await team(owner);
    const { token } = await invite(owner, slug, ada.email, "member");
    const statuses = (await Promise.all([accept(token, ada.token), accept(token, ada.token)])).map((response) => response.status).sort();
    expect(statuses).toEqual([200, 409]);
    await expectProblem(await accept(token, ada.token), 409, "INVITATION_USED");
  });

  it("expire, show as expired, and a resend brings a new link (the old one dead)", async () => {
    const [owner, ada] = [await person("exp-o"), await person("exp-a")];
    const slug = await team(owner);
    const { invitation, token } = await invite(owner, slug, ada.email, "viewer");
    await expireInvitation(invitation.id);
    await expectProblem(await accept(token, ada.token), 410, "INVITATION_EXPIRED");
    const listed = await json<{ data: { id: string; status: string }[] }>(
      await call(`/api/v1/orgs/${slug}/invitations`, { token: owner.token }),
      200,
    );
    expect(listed.data).toEqual([expect.objectContaining({ id: invitation.id, status: "expired" })]);

    const resent = await json<{ id: string; status: string; expiresAt: string }>(
      await call(`/api/v1/orgs/${slug}/invitations/${invitation.id}/resend`, { method: "POST", token: owner.token }),
      202,
    );
    expect(resent).toMatchObject({ id: invitation.id, status: "pending" });
    const fresh = await mailedToken(ada.email, "invitation", 2);
    expect(fresh).not.toBe(token);
    await expectProblem(await accept(token, ada.token), 404, "NOT_FOUND");
    await json(await accept(fresh, ada.token), 200);
  });

  it("stop working when revoked; a revoked invitation leaves the list and cannot be revoked again", async () => {
    const [owner, ada] = [await person("rev-o"), await person("rev-a")];
    const slug = await team(owner);
    const { invitation, token } = await invite(owner, slug, ada.email, "member");
    expect((await call(`/api/v1/orgs/${slug}/invitations/${invitation.id}`, { method: "DELETE", token: owner.token })).status).toBe(204);
    await expectProblem(await accept(token, ada.token), 410, "INVITATION_REVOKED");
    const listed = await json<{ data: unknown[] }>(await call(`/api/v1/orgs/${slug}/invitations`, { token: owner.token }), 200);
    expect(listed.data).toEqual([]);
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/invitations/${invitation.id}`, { method: "DELETE", token: owner.token }),
      404,
      "NOT_FOUND",
    );
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/invitations/${invitation.id}/resend`, { method: "POST", token: owner.token }),
      404,
      "NOT_FOUND",
    );
    // A new invitation for the address can follow.
    const again = await invite(owner, slug, ada.email, "viewer");
    expect(again.invitation.id).not.toBe(invitation.id);
    expect((await json<{ role: string }>(await accept(again.token, ada.token), 200)).role).toBe("viewer");
  });

  it("belong to their address: another verified account holding the token is refused", async () => {
    const [owner, ada, mallory] = [await person("mm-o"), await person("mm-a"), await person("mm-m")];
    const slug = await team(owner);
    const { token } = await invite(owner, slug, ada.email, "admin");
    await expectProblem(await accept(token, mallory.token), 403, "INVITATION_EMAIL_MISMATCH");
    await json(await accept(token, ada.token), 200);
  });

  it("are for people: an API key cannot accept", async () => {
    const [owner, ada] = [await person("key-o"), await person("key-a")];
    const slug = await team(owner);
    const { token } = await invite(owner, slug, ada.email);
    const key = (await json<{ key: string }>(await createKey(ada), 201)).key;
    await expectProblem(await accept(token, key), 403, "FORBIDDEN");
  });

  it("refuse a token nobody issued with 404", async () => {
    const ada = await person("bogus");
    await expectProblem(await accept(`dci_${"B".repeat(43)}`, ada.token), 404, "NOT_FOUND");
  });
});

describe("inviting answers alike (item 9: no enumeration, no consent skipped)", () => {
  it("is 202 with the same shape for an account, an unknown address and a member, and adds nobody", async () => {
    const [owner, registered, member] = [await person("en-o"), await person("en-r"), await person("en-m")];
    const slug = await team(owner);
    await addMember(owner, slug, member, "member");
    const shapes = [];
    for (const email of [registered.email, uniqueEmail("en-unknown"), member.email]) {
      const response = await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: owner.token, body: { email, role: "admin" } });
      const body = await json<Record<string, unknown>>(response, 202);
      expect(body).toMatchObject({ email, role: "admin", status: "pending", invitedBy: owner.userId });
      shapes.push({
        keys: Object.keys(body).sort(),
        types: Object.values(body).map((value) => typeof value),
        contentType: response.headers.get("Content-Type"),
      });
      // Nothing about the person behind the address: no user id, no name.
      expect(body).not.toHaveProperty("userId");
      expect(body).not.toHaveProperty("name");
    }
    expect(new Set(shapes.map((shape) => JSON.stringify(shape))).size).toBe(1);
    const list = await json<{ data: { email: string; role: string }[] }>(
      await call(`/api/v1/orgs/${slug}/members`, { token: owner.token }),
      200,
    );
    expect(list.data.map((m) => [m.email, m.role]).sort()).toEqual(
      [
        [member.email, "member"],
        [owner.email, "owner"],
      ].sort(),
    );
  });
});

describe("who may manage invitations", () => {
  it("a member or a viewer cannot invite, list, resend or revoke (403)", async () => {
    const [owner, member, viewer] = [await person("wm-o"), await person("wm-m"), await person("wm-v")];
    const slug = await team(owner);
    await addMember(owner, slug, member, "member");
    await addMember(owner, slug, viewer, "viewer");
    const { invitation } = await invite(owner, slug, uniqueEmail("wm-x"));
    for (const who of [member, viewer]) {
      const routes: [string, string, unknown?][] = [
        ["POST", `/api/v1/orgs/${slug}/members`, { email: uniqueEmail("wm-y") }],
        ["GET", `/api/v1/orgs/${slug}/invitations`],
        ["POST", `/api/v1/orgs/${slug}/invitations/${invitation.id}/resend`],
        ["DELETE", `/api/v1/orgs/${slug}/invitations/${invitation.id}`],
      ];
      for (const [method, path, body] of routes)
        await expectProblem(await call(path, { method, token: who.token, body }), 403, "FORBIDDEN");
    }
  });

  it("an admin cannot resend or revoke an invitation to the owner role", async () => {
    const [owner, admin] = [await person("ao-o"), await person("ao-a")];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    const { invitation } = await invite(owner, slug, uniqueEmail("ao-x"), "owner");
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/invitations/${invitation.id}/resend`, { method: "POST", token: admin.token }),
      403,
      "FORBIDDEN",
    );
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/invitations/${invitation.id}`, { method: "DELETE", token: admin.token }),
      403,
      "FORBIDDEN",
    );
  });

  it("another tenant's invitations are 404, by its slug or through one's own", async () => {
    const [owner, other] = [await person("tn-a"), await person("tn-b")];
    const [slug, otherSlug] = [await team(owner), await team(other)];
    const { invitation } = await invite(owner, slug, uniqueEmail("tn-x"));
    const routes: [string, string][] = [
      ["GET", `/api/v1/orgs/${slug}/invitations`],
      ["POST", `/api/v1/orgs/${slug}/invitations/${invitation.id}/resend`],
      ["DELETE", `/api/v1/orgs/${slug}/invitations/${invitation.id}`],
      ["POST", `/api/v1/orgs/${otherSlug}/invitations/${invitation.id}/resend`],
      ["DELETE", `/api/v1/orgs/${otherSlug}/invitations/${invitation.id}`],
    ];
    for (const [method, path] of routes) await expectProblem(await call(path, { method, token: other.token }), 404, "NOT_FOUND");
    const listed = await json<{ data: { id: string; status: string }[] }>(
      await call(`/api/v1/orgs/${slug}/invitations`, { token: owner.token }),
      200,
    );
    expect(listed.data).toEqual([expect.objectContaining({ id: invitation.id, status: "pending" })]);
  });
});

describe("secrets stay out of the audit log", () => {
  it("keeps neither the address nor a token in the rows of an invitation, an acceptance and a verification", async () => {
    const owner = await person("au-o");
    const slug = await team(owner);
    const ada = await unverifiedPerson("au-a");
    const verification = await mailedToken(ada.email, "verification");
    await json(await call("/api/v1/auth/verify-email", { method: "POST", body: { token: verification } }), 200);
    const { invitation, token } = await invite(owner, slug, ada.email);
    await json(await accept(token, ada.token), 200);
    // The audit queue writes after the responses: a bounded poll for the three rows.
    const wanted = ["inviteMember", "acceptInvitation", "verifyEmail"];
    const rows = await eventually(
      async () => {
        const mine = await db()
          .select()
          .from(auditLogs)
          .where(sql`${auditLogs.orgId} = ${await orgId(slug)} OR ${auditLogs.targetId} = ${ada.userId}`);
        return mine.filter((row) => wanted.includes(row.action));
      },
      (found) => wanted.every((action) => found.some((row) => row.action === action)),
    );
    expect(rows.map((row) => row.action).sort()).toEqual([...wanted].sort());
    expect(rows.find((row) => row.action === "inviteMember")).toMatchObject({ targetType: "invitations", targetId: invitation.id });
    expect(rows.find((row) => row.action === "acceptInvitation")).toMatchObject({ targetType: "invitations", targetId: invitation.id });
    const text = JSON.stringify(rows);
    for (const secret of [ada.email, token, verification]) expect(text).not.toContain(secret);
  });
});

async function orgId(slug: string) {
  const [row] = await db()
    .execute<{ id: string }>(sql`SELECT id FROM organizations WHERE slug = ${slug}`)
    .then((result) => result.rows);
  return row!.id;
}

describe("external identity provider tokens", () => {
  const oidc = inject("oidc");
  const external = async (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: oidc.privateJwk.kid })
      .setIssuer(oidc.issuer)
      .setAudience(oidc.audience)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(await importJWK(oidc.privateJwk, "RS256"));

  it("give an unverified account when email_verified is not true, and a verified one when it is", async () => {
    for (const claim of [false, undefined, "true"]) {
      const token = await external({
        sub: `idp|${crypto.randomUUID()}`,
        email: uniqueEmail("oidc-u"),
        ...(claim === undefined ? {} : { email_verified: claim }),
      });
      const account = await me(token);
      expect(account.emailVerified, `email_verified: ${String(claim)}`).toBe(false);
      await expectProblem(
        await call(`/api/v1/orgs/${account.organizations[0]!.slug}/api-keys`, { method: "POST", token, body: { name: "k" } }),
        403,
        "EMAIL_NOT_VERIFIED",
      );
    }
    const token = await external({ sub: `idp|${crypto.randomUUID()}`, email: uniqueEmail("oidc-v"), email_verified: true });
    const account = await me(token);
    expect(account.emailVerified).toBe(true);
    await json(await call(`/api/v1/orgs/${account.organizations[0]!.slug}/api-keys`, { method: "POST", token, body: { name: "k" } }), 201);
  });

  it("verify the account once the provider verifies the address it was made with", async () => {
    const [sub, email] = [`idp|${crypto.randomUUID()}`, uniqueEmail("oidc-later")];
    expect((await me(await external({ sub, email, email_verified: false }))).emailVerified).toBe(false);
    expect((await me(await external({ sub, email, email_verified: true }))).emailVerified).toBe(true);
    const [row] = await db()
      .select({ verifiedAt: users.emailVerifiedAt })
      .from(users)
      .where(and(eq(users.email, email)));
    expect(row!.verifiedAt).toBeInstanceOf(Date);
  });
});
