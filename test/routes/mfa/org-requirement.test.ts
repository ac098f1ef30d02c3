// An organization that requires two-factor sign-in: only owners switch it on (having MFA themselves), and members without a
// confirmed factor get 403 MFA_REQUIRED from the organization's routes until they enrol; API keys are not sign-ins.
import { describe, expect, it } from "vitest";
import { addMember, call, json, person, team } from "../../support/harness.ts";
import { enrolled } from "../../support/mfa.ts";
import { expectProblem } from "../../support/problem.ts";

const patchOrg = (token: string, slug: string, body: Record<string, unknown>) =>
  call(`/api/v1/orgs/${slug}`, { method: "PATCH", token, body });

describe("an organization requiring MFA", () => {
  it("is switched on by an owner with a second factor, and refuses members without one until they enrol", async () => {
    const owner = await person("mfa-owner");
    const slug = await team(owner);
    const admin = await person("mfa-admin");
    const member = await person("mfa-member");
    await addMember(owner, slug, admin, "admin");
    await addMember(owner, slug, member, "member");
    const project = await json<{ id: string }>(
      await call("/api/v1/projects", { method: "POST", token: member.token, body: { org: slug, name: "Kept" } }),
      201,
    );
    const { key } = await json<{ key: string }>(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: owner.token, body: { name: "ci" } }),
      201,
    );

    // An owner without a factor cannot switch it on (they would lock themselves out); an admin may not change it at all.
    await expectProblem(await patchOrg(owner.token, slug, { requireMfa: true }), 409, "MFA_NOT_ENROLLED");
    await enrolled("mfa-owner", owner);
    await expectProblem(await patchOrg(admin.token, slug, { requireMfa: true }), 403, "FORBIDDEN");
    const updated = await json<{ requireMfa: boolean }>(await patchOrg(owner.token, slug, { requireMfa: true }), 200);
    expect(updated.requireMfa).toBe(true);

    // The owner carries on; the member is refused on the organization and its resources, and sees none of them in lists.
    expect(await json<{ requireMfa: boolean }>(await call(`/api/v1/orgs/${slug}`, { token: owner.token }), 200)).toMatchObject({
      requireMfa: true,
    });
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { token: member.token }), 403, "MFA_REQUIRED");
    await expectProblem(await call(`/api/v1/projects/${project.id}`, { token: member.token }), 403, "MFA_REQUIRED");
    const listed = await json<{ data: { id: string }[] }>(await call("/api/v1/projects", { token: member.token }), 200);
    expect(listed.data.map((p) => p.id)).not.toContain(project.id);
    // Their own personal organization is not affected, and neither is an API key of the organization.
    await json(await call(`/api/v1/orgs/${member.personalOrg}`, { token: member.token }), 200);
    await json(await call(`/api/v1/projects/${project.id}`, { token: key }), 200);

    // Once the member enrols, the organization answers them again.
    await enrolled("mfa-member", member);
    await json(await call(`/api/v1/projects/${project.id}`, { token: member.token }), 200);
    expect(
      (await json<{ data: { id: string }[] }>(await call("/api/v1/projects", { token: member.token }), 200)).data.map((p) => p.id),
    ).toContain(project.id);

    // Switching it off is an owner's call too: an admin without a factor is not even let in, and with one is still refused.
    await expectProblem(await patchOrg(admin.token, slug, { requireMfa: false }), 403, "MFA_REQUIRED");
    await enrolled("mfa-admin", admin);
    await expectProblem(await patchOrg(admin.token, slug, { requireMfa: false }), 403, "FORBIDDEN");
    expect(await json<{ requireMfa: boolean }>(await patchOrg(owner.token, slug, { requireMfa: false }), 200)).toMatchObject({
      requireMfa: false,
    });
  });

  it("is invisible to another tenant: their PATCH is a 404", async () => {
    const owner = await person("mfa-own");
    const slug = await team(owner);
    const stranger = await person("mfa-stranger");
    await expectProblem(await patchOrg(stranger.token, slug, { requireMfa: true }), 404, "NOT_FOUND");
  });
});
