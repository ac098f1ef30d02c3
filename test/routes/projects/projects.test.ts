// Projects through the Worker: CRUD, pagination and search, ETags, soft delete and restore, roles, another tenant's projects.
import { env } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { projects } from "../../../src/db/schema.ts";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface Project {
  id: string;
  org: string;
  name: string;
  description: string | null;
  color: string | null;
  settings: Record<string, unknown>;
  createdBy: string;
  updatedBy: string;
  deletedAt: string | null;
}

async function createProject(who: Person, body: Record<string, unknown> = { name: "Sales" }) {
  const response = await call("/api/v1/projects", { method: "POST", token: who.token, body });
  return { project: await json<Project>(response, 201), etag: response.headers.get("ETag")!, location: response.headers.get("Location") };
}

describe("creating", () => {
  it("puts a project in the personal organization by default, recording who made it", async () => {
    const ada = await person("p-create");
    const { project, etag, location } = await createProject(ada, {
      name: "Q3 revenue",
      description: "Quarterly",
      color: "#3B82F6",
      icon: "chart-bar",
      settings: { currency: "EUR" },
    });
    expect(project).toMatchObject({
      org: ada.personalOrg,
      name: "Q3 revenue",
      color: "#3B82F6",
      settings: { currency: "EUR" },
      createdBy: ada.userId,
      updatedBy: ada.userId,
      deletedAt: null,
    });
    expect(etag).toBe('"1"');
    expect(location).toBe(`/api/v1/projects/${project.id}`);
  });

  it("goes into a named organization, for members and above", async () => {
    const [owner, viewer] = [await person("p-o"), await person("p-v")];
    const slug = await team(owner);
    await addMember(owner, slug, viewer, "viewer");
    expect((await createProject(owner, { org: slug, name: "Team project" })).project.org).toBe(slug);
    await expectProblem(
      await call("/api/v1/projects", { method: "POST", token: viewer.token, body: { org: slug, name: "Nope" } }),
      403,
      "FORBIDDEN",
    );
  });

  it("names every invalid field: a 10,000-character name, a colour that is not a colour, unknown fields", async () => {
    const ada = await person("p-bad");
    const problem = await expectProblem(
      await call("/api/v1/projects", {
        method: "POST",
        token: ada.token,
        body: { name: "x".repeat(10_000), color: "blue", settings: [], extra: true },
      }),
      400,
      "VALIDATION_FAILED",
    );
    expect(problem.errors?.map((error) => error.path).sort()).toEqual(["body", "body.color", "body.name", "body.settings"]);
  });

  it("refuses another tenant's organization as if it did not exist", async () => {
    const [owner, stranger] = [await person("p-x-o"), await person("p-x-s")];
    const slug = await team(owner);
    await expectProblem(
      await call("/api/v1/projects", { method: "POST", token: stranger.token, body: { org: slug, name: "Mine" } }),
      404,
      "NOT_FOUND",
    );
  });
});

describe("listing", () => {
  it("pages newest first with a Link, filters by organization and searches names", async () => {
    const ada = await person("p-list");
    const slug = await team(ada);
    for (const name of ["Alpha", "Beta", "Gamma 100%"]) await createProject(ada, { name });
    await createProject(ada, { org: slug, name: "Team alpha" });

    const first = await call("/api/v1/projects?limit=2", { token: ada.token });
    const page1 = await json<{ data: Project[]; nextCursor: string }>(first, 200);
    expect(page1.data.map((p) => p.name)).toEqual(["Team alpha", "Gamma 100%"]);
    expect(first.headers.get("Link")).toContain('rel="next"');
    const page2 = await json<{ data: Project[]; nextCursor: null }>(
      await call(`/api/v1/projects?limit=2&cursor=${page1.nextCursor}`, { token: ada.token }),
      200,
    );
    expect(page2.data.map((p) => p.name)).toEqual(["Beta", "Alpha"]);
    expect(page2.nextCursor).toBeNull();

    const team_ = await json<{ data: Project[] }>(await call(`/api/v1/projects?org=${slug}`, { token: ada.token }), 200);
    expect(team_.data.map((p) => p.name)).toEqual(["Team alpha"]);
    const search = await json<{ data: Project[] }>(await call("/api/v1/projects?q=ALPHA", { token: ada.token }), 200);
    expect(search.data.map((p) => p.name)).toEqual(["Team alpha", "Alpha"]);
    // LIKE wildcards are searched literally.
    const percent = await json<{ data: Project[] }>(
      await call(`/api/v1/projects?q=${encodeURIComponent("0%")}`, { token: ada.token }),
      200,
    );
    expect(percent.data.map((p) => p.name)).toEqual(["Gamma 100%"]);
  });

  it("shows nothing of another tenant's projects, even when asked for its organization", async () => {
    const [owner, stranger] = [await person("p-l-o"), await person("p-l-s")];
    const slug = await team(owner);
    await createProject(owner, { org: slug, name: "Secret plans" });
    const mine = await json<{ data: Project[] }>(await call(`/api/v1/projects?org=${slug}`, { token: stranger.token }), 200);
    expect(mine.data).toEqual([]);
    const all = await json<{ data: Project[] }>(await call("/api/v1/projects?q=Secret", { token: stranger.token }), 200);
    expect(all.data).toEqual([]);
  });

  it.each([
    [
      "projects of an organization",
      "SELECT * FROM projects WHERE org_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 21",
      "projects_org_created_idx",
    ],
    [
      "datasets of a project",
      "SELECT * FROM datasets WHERE project_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 21",
      "datasets_project_",
    ],
    [
      "a dataset by content hash",
      "SELECT * FROM datasets WHERE project_id = $1 AND sha256 = 'x' AND deleted_at IS NULL",
      "datasets_project_",
    ],
    // Any of the three organization-first indexes serves it; the planner picks by what the table holds.
    ["an organization's audit log", "SELECT * FROM audit_logs WHERE org_id = $1 ORDER BY at DESC, id DESC LIMIT 21", "audit_logs_org_"],
    [
      "an organization's API keys",
      "SELECT * FROM api_keys WHERE org_id = $1 ORDER BY created_at DESC, id DESC LIMIT 21",
      "api_keys_org_idx",
    ],
    ["what the purge deletes", "SELECT id FROM projects WHERE deleted_at < now() - interval '30 days' LIMIT 100", "projects_deleted_idx"],
  ])("uses an index for %s (EXPLAIN, sequential scans off)", async (_, query, index) => {
    const db = createDb(env);
    const [, plan] = await db.batch([
      db.execute(sql`SET LOCAL enable_seqscan = off`),
      db.execute(sql.raw(`EXPLAIN ${query.replace("$1", "'6c8f7c43-3b1e-4e5a-9d2f-0a7e1c2b3d4e'")}`)),
    ]);
    const text = (plan.rows as { "QUERY PLAN": string }[]).map((row) => row["QUERY PLAN"]).join("\n");
    expect(text).toContain(index);
  });
});

describe("one project", () => {
  it("answers 304 to If-None-Match with its ETag", async () => {
    const ada = await person("p-etag");
    const { project, etag } = await createProject(ada);
    const fresh = await call(`/api/v1/projects/${project.id}`, { token: ada.token, headers: { "If-None-Match": etag } });
    expect(fresh.status).toBe(304);
    expect(fresh.headers.get("ETag")).toBe(etag);
    expect((await call(`/api/v1/projects/${project.id}`, { token: ada.token, headers: { "If-None-Match": '"999"' } })).status).toBe(200);
  });

  it("updates with If-Match, and refuses a stale one with 412", async () => {
    const [ada, bob] = [await person("p-upd"), await person("p-upd-b")];
    const slug = await team(ada);
    await addMember(ada, slug, bob, "member");
    const { project, etag } = await createProject(ada, { org: slug, name: "Draft" });
    const response = await call(`/api/v1/projects/${project.id}`, {
      method: "PATCH",
      token: bob.token,
      body: { name: "Final", description: null },
      headers: { "If-Match": etag },
    });
    const updated = await json<Project>(response, 200);
    expect(updated).toMatchObject({ name: "Final", description: null, updatedBy: bob.userId, createdBy: ada.userId });
    expect(response.headers.get("ETag")).toBe('"2"');
    const stale = await call(`/api/v1/projects/${project.id}`, {
      method: "PATCH",
      token: ada.token,
      body: { name: "Overwrite" },
      headers: { "If-Match": etag },
    });
    await expectProblem(stale, 412, "PRECONDITION_FAILED");
    expect(stale.headers.get("ETag")).toBe('"2"');
  });

  it("is read by viewers and API keys of its organization, changed by members, deleted by admins", async () => {
    const [owner, viewer, member] = [await person("p-r-o"), await person("p-r-v"), await person("p-r-m")];
    const slug = await team(owner);
    await addMember(owner, slug, viewer, "viewer");
    await addMember(owner, slug, member, "member");
    const { project } = await createProject(owner, { org: slug, name: "Shared" });
    const { key } = await json<{ key: string }>(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: owner.token, body: { name: "ro" } }),
      201,
    );
    await json(await call(`/api/v1/projects/${project.id}`, { token: viewer.token }), 200);
    await json(await call(`/api/v1/projects/${project.id}`, { token: key }), 200);
    await expectProblem(
      await call(`/api/v1/projects/${project.id}`, { method: "PATCH", token: viewer.token, body: { name: "x" } }),
      403,
      "FORBIDDEN",
    );
    await expectProblem(
      await call(`/api/v1/projects/${project.id}`, { method: "PATCH", token: key, body: { name: "x" } }),
      403,
      "INSUFFICIENT_SCOPE",
    );
    await expectProblem(await call(`/api/v1/projects/${project.id}`, { method: "DELETE", token: member.token }), 403, "FORBIDDEN");
  });

  it("is a 404 to another tenant for every route", async () => {
    const [owner, stranger] = [await person("p-t-o"), await person("p-t-s")];
    const { project } = await createProject(owner);
    const routes: [string, string, unknown?][] = [
      ["GET", `/api/v1/projects/${project.id}`],
      ["PATCH", `/api/v1/projects/${project.id}`, { name: "Mine" }],
      ["DELETE", `/api/v1/projects/${project.id}`],
      ["POST", `/api/v1/projects/${project.id}/restore`],
    ];
    for (const [method, path, body] of routes)
      await expectProblem(await call(path, { method, token: stranger.token, body }), 404, "NOT_FOUND");
    await expectProblem(await call("/api/v1/projects/not-a-uuid", { token: stranger.token }), 400, "VALIDATION_FAILED");
  });
});

describe("deleting and restoring", () => {
  it("soft-deletes (404 after DELETE, gone from lists) and restores within the retention window", async () => {
    const ada = await person("p-del");
    const { project } = await createProject(ada, { name: "Temporary" });
    expect((await call(`/api/v1/projects/${project.id}`, { method: "DELETE", token: ada.token })).status).toBe(204);
    await expectProblem(await call(`/api/v1/projects/${project.id}`, { token: ada.token }), 404, "NOT_FOUND");
    const list = await json<{ data: Project[] }>(await call("/api/v1/projects", { token: ada.token }), 200);
    expect(list.data.map((p) => p.id)).not.toContain(project.id);
    const [row] = await createDb(env).select({ deletedAt: projects.deletedAt }).from(projects).where(eq(projects.id, project.id));
    expect(row?.deletedAt).toBeInstanceOf(Date);

    const restored = await call(`/api/v1/projects/${project.id}/restore`, { method: "POST", token: ada.token });
    expect((await json<Project>(restored, 200)).deletedAt).toBeNull();
    await json(await call(`/api/v1/projects/${project.id}`, { token: ada.token }), 200);
    await expectProblem(await call(`/api/v1/projects/${project.id}/restore`, { method: "POST", token: ada.token }), 404, "NOT_FOUND");
  });

  it("refuses to restore past the retention window with 410", async () => {
    const ada = await person("p-old");
    const { project } = await createProject(ada);
    await createDb(env).update(projects).set({ deletedAt: sql`now() - interval '31 days'` }).where(eq(projects.id, project.id));
    await expectProblem(await call(`/api/v1/projects/${project.id}/restore`, { method: "POST", token: ada.token }), 410, "GONE");
  });

  it("honours If-Match on DELETE", async () => {
    const ada = await person("p-del-412");
    const { project } = await createProject(ada);
    await expectProblem(
      await call(`/api/v1/projects/${project.id}`, { method: "DELETE", token: ada.token, headers: { "If-Match": '"7"' } }),
      412,
      "PRECONDITION_FAILED",
    );
    expect(
      (await call(`/api/v1/projects/${project.id}`, { method: "DELETE", token: ada.token, headers: { "If-Match": '"1"' } })).status,
    ).toBe(204);
  });
});

describe("the old unversioned path", () => {
  it("answers /api/projects as its successor, marked deprecated", async () => {
    const ada = await person("p-alias");
    const { project } = await createProject(ada, { name: "Via alias" });
    const response = await call(`/api/projects/${project.id}`, { token: ada.token });
    expect((await json<Project>(response, 200)).name).toBe("Via alias");
    expect(response.headers.get("Deprecation")).toMatch(/^@\d+$/);
    expect(response.headers.get("Link")).toBe(`</api/v1/projects/${project.id}>; rel="successor-version"`);
  });
});
