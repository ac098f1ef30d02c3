// The audit log through the Worker: a row for each state change and auth event, filters, access, and no secrets.
import { env } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { auditLogs } from "../../../src/db/schema.ts";
import { addMember, call, json, person, team } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { EVENTUALLY_TIMEOUT_MS } from "../../support/eventually.ts";

interface Row {
  action: string;
  actorId: string | null;
  actorType: string;
  targetType: string | null;
  targetId: string | null;
  route: string | null;
  status: number;
  errorCode: string | null;
  requestId: string;
}

const db = () => createDb(env);

/** Audit rows travel through a queue (batches of up to a second) before they land. */
const landing = { timeout: EVENTUALLY_TIMEOUT_MS, interval: 100 };

/** The audit rows of an organization, once the writes that follow the responses have landed. */
async function rowsOf(owner: { token: string }, slug: string, query = "", atLeast = 1): Promise<Row[]> {
  let rows: Row[] = [];
  await expect
    .poll(async () => {
      rows = (await json<{ data: Row[] }>(await call(`/api/v1/orgs/${slug}/audit-logs?limit=100${query}`, { token: owner.token }), 200))
        .data;
      return rows.length;
    }, landing)
    .toBeGreaterThanOrEqual(atLeast);
  return rows;
}

describe("audit rows", () => {
  it("record each organization event with actor, action, route pattern, target and status", async () => {
    const [owner, ada] = [await person("aud-o"), await person("aud-a")];
    const slug = await team(owner);
    await json(await call(`/api/v1/orgs/${slug}`, { method: "PATCH", token: owner.token, body: { name: "Renamed" } }), 200);
    const invitation = await addMember(owner, slug, ada, "member");
    await json(
      await call(`/api/v1/orgs/${slug}/members/${ada.userId}`, { method: "PATCH", token: owner.token, body: { role: "admin" } }),
      200,
    );
    const key = await json<{ id: string; key: string }>(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: owner.token, body: { name: "k" } }),
      201,
    );
    expect((await call(`/api/v1/orgs/${slug}/api-keys/${key.id}`, { method: "DELETE", token: owner.token })).status).toBe(204);
    await expectProblem(await call(`/api/v1/orgs/${slug}`, { method: "DELETE", token: ada.token }), 403, "FORBIDDEN");

    const rows = await rowsOf(owner, slug, "", 8);
    const summary = rows.map((row) => [row.action, row.status, row.targetType, row.targetId, row.errorCode]).reverse();
    expect(summary).toEqual([
      ["createOrganization", 201, "orgs", slug, null],
      ["updateOrganization", 200, "orgs", slug, null],
      // Inviting names the invitation, never the address; accepting is the invitee's own row.
      ["inviteMember", 202, "invitations", invitation.id, null],
      ["acceptInvitation", 200, "invitations", invitation.id, null],
      ["changeMemberRole", 200, "members", ada.userId, null],
      ["createApiKey", 201, "api-keys", key.id, null],
      ["revokeApiKey", 204, "api-keys", key.id, null],
      ["deleteOrganization", 403, "orgs", slug, "FORBIDDEN"],
    ]);
    expect(rows.at(-1)).toMatchObject({ actorType: "user", actorId: owner.userId, route: "/api/v1/orgs" });
    expect(rows[0]).toMatchObject({ actorId: ada.userId, route: "/api/v1/orgs/:slug" });
    const stored = JSON.stringify(
      await db()
        .select()
        .from(auditLogs)
        .where(
          inArray(
            auditLogs.requestId,
            rows.map((row) => row.requestId),
          ),
        ),
    );
    for (const secret of [key.key, owner.token, ada.token]) expect(stored).not.toContain(secret);
  });

  it("record sign-in success and failure and token reuse, with no password or token anywhere", async () => {
    const ada = await person("aud-auth");
    const wrong = await call("/api/v1/auth/signin", { method: "POST", body: { email: ada.email, password: "wrong-password-1" } });
    const replay = await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: ada.tokens.refreshToken } });
    await json(replay, 200);
    const reuse = await call("/api/v1/auth/refresh", { method: "POST", body: { refreshToken: ada.tokens.refreshToken } });
    await expectProblem(reuse, 401, "TOKEN_REUSED");
    const ids = [wrong, replay, reuse].map((r) => r.headers.get("X-Request-ID")!);

    let rows: (typeof auditLogs.$inferSelect)[] = [];
    await expect
      .poll(async () => (rows = await db().select().from(auditLogs).where(inArray(auditLogs.requestId, ids))).length, landing)
      .toBe(3);
    const byRequest = new Map(rows.map((row) => [row.requestId, row]));
    expect(byRequest.get(ids[0]!)).toMatchObject({
      action: "signIn",
      status: 401,
      errorCode: "INVALID_CREDENTIALS",
      targetType: "email",
      targetId: ada.email,
      actorType: "anonymous",
    });
    expect(byRequest.get(ids[1]!)).toMatchObject({ action: "refreshTokens", status: 200 });
    expect(byRequest.get(ids[2]!)).toMatchObject({ action: "refreshTokens", status: 401, errorCode: "TOKEN_REUSED" });

    const signins = await db().select().from(auditLogs).where(eq(auditLogs.targetId, ada.email));
    expect(signins.map((row) => [row.action, row.status]).sort()).toEqual([
      ["signIn", 200],
      ["signIn", 401],
    ]);
    const everything = JSON.stringify(await db().select().from(auditLogs));
    for (const secret of [ada.password, "wrong-password-1", ada.tokens.refreshToken, ada.token]) expect(everything).not.toContain(secret);
  });

  it("keep query strings and bodies out", async () => {
    const owner = await person("aud-q");
    const slug = await team(owner);
    const response = await call(`/api/v1/orgs/${slug}?password=hunter2-in-url`, {
      method: "PATCH",
      token: owner.token,
      body: { name: "hunter2-in-body" },
    });
    await json(response, 200);
    const id = response.headers.get("X-Request-ID")!;
    let row: typeof auditLogs.$inferSelect | undefined;
    await expect.poll(async () => ([row] = await db().select().from(auditLogs).where(eq(auditLogs.requestId, id))).length, landing).toBe(1);
    expect(row?.route).toBe("/api/v1/orgs/:slug");
    expect(JSON.stringify(row)).not.toContain("hunter2");
  });
});

describe("GET /orgs/{slug}/audit-logs", () => {
  it("filters by actor, action and time, a page at a time", async () => {
    const [owner, admin] = [await person("f-o"), await person("f-a")];
    const slug = await team(owner);
    await addMember(owner, slug, admin, "admin");
    const before = new Date().toISOString();
    for (const name of ["One", "Two", "Three"])
      await json(await call(`/api/v1/orgs/${slug}`, { method: "PATCH", token: admin.token, body: { name } }), 200);
    await rowsOf(owner, slug, "", 6);

    const byAdmin = await rowsOf(owner, slug, `&actor=${admin.userId}`);
    // The admin joined by accepting the invitation: that row is theirs too.
    expect(byAdmin.map((row) => row.action)).toEqual([
      "updateOrganization",
      "updateOrganization",
      "updateOrganization",
      "acceptInvitation",
    ]);
    expect((await rowsOf(owner, slug, "&action=inviteMember")).map((row) => row.actorId)).toEqual([owner.userId]);
    expect((await rowsOf(owner, slug, `&from=${before}&action=updateOrganization`)).length).toBe(3);
    const none = await json<{ data: unknown[] }>(
      await call(`/api/v1/orgs/${slug}/audit-logs?to=${encodeURIComponent(before.replace(/\d{4}/, "2000"))}`, { token: owner.token }),
      200,
    );
    expect(none.data).toEqual([]);

    const page = await call(`/api/v1/orgs/${slug}/audit-logs?limit=2`, { token: owner.token });
    const first = await json<{ data: Row[]; nextCursor: string }>(page, 200);
    expect(first.data).toHaveLength(2);
    const second = await json<{ data: Row[] }>(
      await call(`/api/v1/orgs/${slug}/audit-logs?limit=2&cursor=${first.nextCursor}`, { token: owner.token }),
      200,
    );
    expect(second.data.map((row) => row.requestId)).not.toContain(first.data[1]!.requestId);
  });

  it("is for admins and owners: members, viewers and API keys are refused, other tenants see nothing", async () => {
    const [owner, member, stranger] = [await person("g-o"), await person("g-m"), await person("g-s")];
    const slug = await team(owner);
    await addMember(owner, slug, member, "member");
    const { key } = await json<{ key: string }>(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: owner.token, body: { name: "k" } }),
      201,
    );
    await expectProblem(await call(`/api/v1/orgs/${slug}/audit-logs`, { token: member.token }), 403, "FORBIDDEN");
    await expectProblem(await call(`/api/v1/orgs/${slug}/audit-logs`, { token: key }), 403, "FORBIDDEN");
    await expectProblem(await call(`/api/v1/orgs/${slug}/audit-logs`, { token: stranger.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/orgs/${slug}/audit-logs?from=yesterday`, { token: owner.token }), 400, "VALIDATION_FAILED");
  });
});
