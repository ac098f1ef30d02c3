// Saved queries of a data source through the Worker: shared in the organization, members save, the creator or an admin
// changes and deletes, ETag and If-Match, cursor pages, another tenant 404.
import { beforeAll, describe, expect, it } from "vitest";
import { createSource, postgresBody, redisBody, type Source } from "../../support/data-sources.ts";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

let owner: Person;
let admin: Person;
let member: Person;
let other: Person;
let viewer: Person;
let slug: string;
let source: Source;
let base: string;

beforeAll(async () => {
  [owner, admin, member, other, viewer] = await Promise.all([
    person("sq-owner"),
    person("sq-admin"),
    person("sq-member"),
    person("sq-other"),
    person("sq-viewer"),
  ]);
  slug = await team(owner);
  await addMember(owner, slug, admin, "admin");
  await addMember(owner, slug, member, "member");
  await addMember(owner, slug, other, "member");
  await addMember(owner, slug, viewer, "viewer");
  source = await createSource(owner, slug, postgresBody());
  base = `/api/v1/orgs/${slug}/data-sources/${source.id}/saved-queries`;
});

interface Saved {
  id: string;
  sourceId: string;
  name: string;
  description: string | null;
  sql: string;
  params: unknown[];
  createdBy: string | null;
  updatedBy: string | null;
}

const save = (who: Person, body: Record<string, unknown>) => call(base, { method: "POST", token: who.token, body });
const uniqueName = (label: string) => `${label} ${crypto.randomUUID().slice(0, 8)}`;

describe("saved queries", () => {
  it("lets a member save a query that the whole organization reads, with an ETag", async () => {
    const name = uniqueName("Big orders");
    const response = await save(member, { name, sql: "SELECT * FROM pg_class WHERE relpages > $1", params: [10] });
    const saved = await json<Saved>(response, 201);
    expect(saved).toMatchObject({ name, sourceId: source.id, description: null, params: [10], createdBy: member.userId });
    expect(response.headers.get("Location")).toBe(`${base}/${saved.id}`);
    const etag = response.headers.get("ETag");
    expect(etag).toBe('"1"');

    const read = await call(`${base}/${saved.id}`, { token: viewer.token });
    expect(await json<Saved>(read, 200)).toEqual(saved);
    expect(read.headers.get("ETag")).toBe(etag);
    expect((await call(`${base}/${saved.id}`, { token: viewer.token, headers: { "If-None-Match": etag! } })).status).toBe(304);
    const listed = await json<{ data: Saved[] }>(await call(base, { token: viewer.token }), 200);
    expect(listed.data.map((q) => q.id)).toContain(saved.id);
  });

  it("refuses a viewer's save (403), a second query of the same name (409), and what POST …/query would refuse", async () => {
    const name = uniqueName("Dup");
    await expectProblem(await save(viewer, { name, sql: "SELECT 1" }), 403, "FORBIDDEN");
    await json(await save(member, { name, sql: "SELECT 1" }), 201);
    await expectProblem(await save(other, { name, sql: "SELECT 2" }), 409, "CONFLICT");
    await expectProblem(await save(member, { name: uniqueName("w"), sql: "DELETE FROM pg_class" }), 422, "QUERY_NOT_READ_ONLY");
    await expectProblem(await save(member, { name: uniqueName("p"), sql: "SELECT $1", params: [] }), 400, "VALIDATION_FAILED");
    await expectProblem(await save(member, { name: "", sql: "SELECT 1" }), 400, "VALIDATION_FAILED");
    await expectProblem(await save(member, { name: uniqueName("x"), sql: "SELECT 1", extra: true }), 400, "VALIDATION_FAILED");
  });

  it("lets the creator or an admin change and delete it, with If-Match; another member gets 403", async () => {
    const saved = await json<Saved>(await save(member, { name: uniqueName("Mine"), sql: "SELECT 1" }), 201);
    const path = `${base}/${saved.id}`;
    await expectProblem(await call(path, { method: "PATCH", token: other.token, body: { name: "taken over" } }), 403, "FORBIDDEN");
    await expectProblem(await call(path, { method: "DELETE", token: other.token }), 403, "FORBIDDEN");

    const changed = await call(path, {
      method: "PATCH",
      token: member.token,
      headers: { "If-Match": '"1"' },
      body: { sql: "SELECT $1::int", params: [7], description: "seven" },
    });
    expect(await json<Saved>(changed, 200)).toMatchObject({ sql: "SELECT $1::int", params: [7], description: "seven" });
    expect(changed.headers.get("ETag")).toBe('"2"');
    // A stale If-Match is 412, and nothing changes.
    await expectProblem(
      await call(path, { method: "PATCH", token: admin.token, headers: { "If-Match": '"1"' }, body: { name: "stale" } }),
      412,
      "PRECONDITION_FAILED",
    );
    await expectProblem(
      await call(path, { method: "PATCH", token: member.token, body: { sql: "UPDATE pg_class SET relpages = 0" } }),
      422,
      "QUERY_NOT_READ_ONLY",
    );
    const byAdmin = await json<Saved>(
      await call(path, { method: "PATCH", token: admin.token, headers: { "If-Match": '"2"' }, body: { name: uniqueName("Renamed") } }),
      200,
    );
    expect(byAdmin.updatedBy).toBe(admin.userId);

    await expectProblem(
      await call(path, { method: "DELETE", token: admin.token, headers: { "If-Match": '"2"' } }),
      412,
      "PRECONDITION_FAILED",
    );
    expect((await call(path, { method: "DELETE", token: admin.token, headers: { "If-Match": '"3"' } })).status).toBe(204);
    await expectProblem(await call(path, { token: member.token }), 404, "NOT_FOUND");
  });

  it("pages newest first with no item twice", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await json<Saved>(await save(member, { name: uniqueName(`Page ${i}`), sql: "SELECT 1" }), 201)).id);
    const first = await json<{ data: Saved[]; nextCursor: string }>(await call(`${base}?limit=2`, { token: member.token }), 200);
    expect(first.data.map((q) => q.id)).toEqual([ids[2], ids[1]]);
    const second = await json<{ data: Saved[] }>(
      await call(`${base}?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`, { token: member.token }),
      200,
    );
    expect(second.data[0]!.id).toBe(ids[0]);
  });

  it("answers another tenant 404 on every route, and a Redis source 422", async () => {
    const saved = await json<Saved>(await save(member, { name: uniqueName("Private"), sql: "SELECT 1" }), 201);
    const stranger = await person("sq-stranger");
    await expectProblem(await call(base, { token: stranger.token }), 404, "NOT_FOUND");
    await expectProblem(await save(stranger, { name: uniqueName("x"), sql: "SELECT 1" }), 404, "NOT_FOUND");
    await expectProblem(await call(`${base}/${saved.id}`, { token: stranger.token }), 404, "NOT_FOUND");
    await expectProblem(
      await call(`${base}/${saved.id}`, { method: "PATCH", token: stranger.token, body: { name: "x" } }),
      404,
      "NOT_FOUND",
    );
    await expectProblem(await call(`${base}/${saved.id}`, { method: "DELETE", token: stranger.token }), 404, "NOT_FOUND");
    // The id of a saved query of this source, asked for under another source of the same organization, is not found either.
    const second = await createSource(owner, slug, postgresBody());
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources/${second.id}/saved-queries/${saved.id}`, { token: member.token }),
      404,
      "NOT_FOUND",
    );
    const redis = await createSource(owner, slug, redisBody());
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources/${redis.id}/saved-queries`, {
        method: "POST",
        token: member.token,
        body: { name: "r", sql: "SELECT 1" },
      }),
      422,
      "DATA_SOURCE_WRONG_KIND",
    );
    await expectProblem(await call(`${base}/not-a-uuid`, { token: member.token }), 400, "VALIDATION_FAILED");
  });
});
