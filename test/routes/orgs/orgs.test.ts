// Organizations through the Worker: CRUD by slug, pagination, roles, and another tenant's organization as a 404.
import { describe, expect, it } from "vitest";
import { addMember, call, json, person, team } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface Org {
  id: string;
  slug: string;
  name: string;
  personal: boolean;
  role: string;
}

describe("POST /orgs", () => {
  it("creates an organization the caller owns, with a Location", async () => {
    const ada = await person("create");
    const slug = `acme-${crypto.randomUUID().slice(0, 8)}`;
    const response = await call("/api/v1/orgs", { method: "POST", token: ada.token, body: { name: "Acme", slug } });
    const org = await json<Org>(response, 201);
    expect(org).toMatchObject({ slug, name: "Acme", personal: false, role: "owner" });
    expect(response.headers.get("Location")).toBe(`/api/v1/orgs/${slug}`);
    await json(await call(`/api/v1/orgs/${slug}`, { token: ada.token }), 200);
  });

  it("derives a slug from the name", async () => {
    const ada = await person("derive");
    const org = await json<Org>(await call("/api/v1/orgs", { method: "POST", token: ada.token, body: { name: "Data Team #1" } }), 201);
    expect(org.slug).toMatch(/^data-team-1-[a-z0-9]{6}$/);
  });

  it("refuses a taken slug with 409", async () => {
    const ada = await person("taken");
    const slug = await team(ada);
    await expectProblem(await call("/api/v1/orgs", { method: "POST", token: ada.token, body: { name: "Again", slug } }), 409, "CONFLICT");
  });

  it("refuses bad input: a 10,000-character name, a slug with capitals, unknown fields", async () => {
    const ada = await person("bad");
    const problem = await expectProblem(
      await call("/api/v1/orgs", { method: "POST", token: ada.token, body: { name: "x".repeat(10_000), slug: "Not_Valid", extra: 1 } }),
      400,
      "VALIDATION_FAILED",
    );
    expect(problem.errors?.map((error) => error.path).sort()).toEqual(["body", "body.name", "body.slug"]);
  });
});

describe("GET /orgs", () => {
  it("lists the caller's organizations newest first, a page at a time with a Link to the next", async () => {
    const ada = await person("pages");
    for (const name of ["One", "Two", "Three"]) await team(ada, name);
    const first = await call("/api/v1/orgs?limit=2", { token: ada.token });
    const page1 = await json<{ data: Org[]; nextCursor: string }>(first, 200);
    expect(page1.data.map((org) => org.name)).toEqual(["Three", "Two"]);
    expect(first.headers.get("Link")).toBe(`</api/v1/orgs?limit=2&cursor=${page1.nextCursor}>; rel="next"`);
    // Created meanwhile: lands before the first page, never in the middle of the walk.
    await team(ada, "Four");
    const page2 = await json<{ data: Org[]; nextCursor: string | null }>(
      await call(`/api/v1/orgs?limit=2&cursor=${page1.nextCursor}`, { token: ada.token }),
      200,
    );
    expect(page2.data.map((org) => org.name)).toEqual(["One", `${ada.email.split("@")[0]}'s workspace`]);
    expect(page2.nextCursor).toBeNull();
  });

  it("never lists another tenant's organizations", async () => {
    const [ada, bob] = [await person("ada"), await person("bob")];
    const slug = await team(bob, "Bob's team");
    const mine = await json<{ data: Org[] }>(await call("/api/v1/orgs?limit=100", { token: ada.token }), 200);
    expect(mine.data.map((org) => org.slug)).not.toContain(slug);
  });

  it("refuses a forged cursor and an out-of-range limit", async () => {
    const ada = await person("cursor");
    await expectProblem(await call("/api/v1/orgs?cursor=bm90LWEtY3Vyc29y", { token: ada.token }), 400, "VALIDATION_FAILED");
    await expectProblem(await call("/api/v1/orgs?limit=101", { token: ada.token }), 400, "VALIDATION_FAILED");
    await expectProblem(await call("/api/v1/orgs?limit=0", { token: ada.token }), 400, "VALIDATION_FAILED");
  });
});

describe("one organization", () => {
  it("is a 404 to another tenant for read, update and delete alike", async () => {
    const [owner, stranger] = [await person("owner"), await person("stranger")];
    const slug = await team(owner);
    for (const [method, body] of [["GET"], ["PATCH", { name: "Mine now" }], ["DELETE"]] as const) {
      const response = await call(`/api/v1/orgs/${slug}`, { method, token: stranger.token, body });
      await expectProblem(response, 404, "NOT_FOUND");
    }
    // Indistinguishable from an organization that does not exist.
    const missing = await expectProblem(await call("/api/v1/orgs/no-such-org-here", { token: stranger.token }), 404, "NOT_FOUND");
    expect(missing.detail).toBe('No organization "no-such-org-here" is visible to you.');
  });

  it("can be renamed by an admin but not by a member or viewer", async () => {
    const [owner, admin, member, viewer] = [await person("o"), await person("a"), await person("m"), await person("v")];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    await addMember(owner, slug, member, "member");
    await addMember(owner, slug, viewer, "viewer");
    for (const who of [member, viewer]) {
      const problem = await expectProblem(
        await call(`/api/v1/orgs/${slug}`, { method: "PATCH", token: who.token, body: { name: "X" } }),
        403,
        "FORBIDDEN",
      );
      expect(problem.detail).toMatch(/needs admin/);
    }
    const renamed = await json<Org>(
      await call(`/api/v1/orgs/${slug}`, { method: "PATCH", token: admin.token, body: { name: "Renamed" } }),
      200,
    );
    expect(renamed).toMatchObject({ name: "Renamed", role: "admin" });
    await json(await call(`/api/v1/orgs/${slug}`, { token: viewer.token }), 200);
  });

  it("carries an ETag: If-None-Match answers 304, a stale If-Match is 412", async () => {
    const owner = await person("o-etag");
    const slug = await team(owner);
    const read = await call(`/api/v1/orgs/${slug}`, { token: owner.token });
    const etag = read.headers.get("ETag")!;
    expect(etag).toMatch(/^"\d+-owner"$/);
    expect((await call(`/api/v1/orgs/${slug}`, { token: owner.token, headers: { "If-None-Match": etag } })).status).toBe(304);
    const renamed = await call(`/api/v1/orgs/${slug}`, {
      method: "PATCH",
      token: owner.token,
      body: { name: "First" },
      headers: { "If-Match": etag },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.headers.get("ETag")).not.toBe(etag);
    await expectProblem(
      await call(`/api/v1/orgs/${slug}`, { method: "PATCH", token: owner.token, body: { name: "Second" }, headers: { "If-Match": etag } }),
      412,
      "PRECONDITION_FAILED",
    );
    await expectProblem(
      await call(`/api/v1/orgs/${slug}`, { method: "DELETE", token: owner.token, headers: { "If-Match": etag } }),
      412,
      "PRECONDITION_FAILED",
    );
    expect(
      (await call(`/api/v1/orgs/${slug}`, { method: "DELETE", token: owner.token, headers: { "If-Match": renamed.headers.get("ETag")! } }))
        .status,
    ).toBe(204);
  });

  it("can change its slug, and the old one is gone", async () => {
    const owner = await person("reslug");
    const slug = await team(owner);
    const next = `${slug}-new`;
    await json(await call(`/api/v1/orgs/${slug}`, { method: "PATCH", token: owner.token, body: { slug: next } }), 200);
    await json(await call(`/api/v1/orgs/${next}`, { token: owner.token }), 200);
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { token: owner.token }), 404, "NOT_FOUND");
  });

  it("is deleted only by an owner, and then is gone", async () => {
    const [owner, admin] = [await person("del-o"), await person("del-a")];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { method: "DELETE", token: admin.token }), 403, "FORBIDDEN");
    expect((await call(`/api/v1/orgs/${slug}`, { method: "DELETE", token: owner.token })).status).toBe(204);
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { token: owner.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/orgs/${slug}/members`, { token: admin.token }), 404, "NOT_FOUND");
  });

  it("keeps a personal organization: it goes with the account", async () => {
    const ada = await person("personal");
    await expectProblem(await call(`/api/v1/orgs/${ada.personalOrg}`, { method: "DELETE", token: ada.token }), 409, "CONFLICT");
  });

  it("needs credentials", async () => {
    await expectProblem(await call("/api/v1/orgs"), 401, "UNAUTHORIZED");
  });
});
