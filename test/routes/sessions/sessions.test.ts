// Analysis sessions through the Worker: CRUD, pagination, ETags, soft delete and restore, validation, tenancy.
import { describe, expect, it } from "vitest";
import { checkedFetch, addMember, call, json, person, team } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { sessionOn } from "../../support/analysis.ts";

interface Session {
  id: string;
  projectId: string;
  datasetId: string;
  title: string;
  createdBy: string;
  deletedAt: string | null;
}

describe("/api/v1/sessions", () => {
  it("creates a session on a dataset, titled after it, and reads it back with an ETag", async () => {
    const ada = await person("ada");
    const { sessionId, datasetId, projectId } = await sessionOn(ada, "quarterly-sales");
    const response = await call(`/api/v1/sessions/${sessionId}`, { token: ada.token });
    const session = await json<Session>(response, 200);
    expect(session).toMatchObject({
      id: sessionId,
      datasetId,
      projectId,
      title: "quarterly-sales",
      createdBy: ada.userId,
      deletedAt: null,
    });
    const etag = response.headers.get("ETag")!;
    expect((await call(`/api/v1/sessions/${sessionId}`, { token: ada.token, headers: { "If-None-Match": etag } })).status).toBe(304);
  });

  it("renames with If-Match, and refuses a stale ETag with 412", async () => {
    const ada = await person("ada");
    const { sessionId } = await sessionOn(ada, "sales");
    const etag = (await call(`/api/v1/sessions/${sessionId}`, { token: ada.token })).headers.get("ETag")!;
    const renamed = await json<Session>(
      await call(`/api/v1/sessions/${sessionId}`, {
        method: "PATCH",
        token: ada.token,
        body: { title: "Q3 look" },
        headers: { "If-Match": etag },
      }),
      200,
    );
    expect(renamed.title).toBe("Q3 look");
    await expectProblem(
      await call(`/api/v1/sessions/${sessionId}`, {
        method: "PATCH",
        token: ada.token,
        body: { title: "again" },
        headers: { "If-Match": etag },
      }),
      412,
      "PRECONDITION_FAILED",
    );
  });

  it("lists newest first with cursor pagination, filtered by project and dataset", async () => {
    const ada = await person("ada");
    const { datasetId, projectId, sessionId: first } = await sessionOn(ada, "sales");
    const second = (
      await json<Session>(await call("/api/v1/sessions", { method: "POST", token: ada.token, body: { datasetId, title: "Second" } }), 201)
    ).id;
    const third = (
      await json<Session>(await call("/api/v1/sessions", { method: "POST", token: ada.token, body: { datasetId, title: "Third" } }), 201)
    ).id;
    const page1 = await call(`/api/v1/sessions?projectId=${projectId}&limit=2`, { token: ada.token });
    const body1 = await json<{ data: Session[]; nextCursor: string }>(page1, 200);
    expect(body1.data.map((s) => s.id)).toEqual([third, second]);
    expect(page1.headers.get("Link")).toContain('rel="next"');
    const body2 = await json<{ data: Session[]; nextCursor: null }>(
      await call(`/api/v1/sessions?projectId=${projectId}&limit=2&cursor=${body1.nextCursor}`, { token: ada.token }),
      200,
    );
    expect(body2).toEqual({ data: [expect.objectContaining({ id: first })], nextCursor: null });
    const byDataset = await json<{ data: Session[] }>(await call(`/api/v1/sessions?datasetId=${datasetId}`, { token: ada.token }), 200);
    expect(byDataset.data).toHaveLength(3);
  });

  it("deletes softly, hides the session, restores it, and 404s after it is gone from the list", async () => {
    const ada = await person("ada");
    const { sessionId, projectId } = await sessionOn(ada, "sales");
    expect((await call(`/api/v1/sessions/${sessionId}`, { method: "DELETE", token: ada.token })).status).toBe(204);
    await expectProblem(await call(`/api/v1/sessions/${sessionId}`, { token: ada.token }), 404, "NOT_FOUND");
    expect(
      (await json<{ data: Session[] }>(await call(`/api/v1/sessions?projectId=${projectId}`, { token: ada.token }), 200)).data,
    ).toEqual([]);
    const restored = await json<Session>(await call(`/api/v1/sessions/${sessionId}/restore`, { method: "POST", token: ada.token }), 200);
    expect(restored.deletedAt).toBeNull();
    await expectProblem(await call(`/api/v1/sessions/${sessionId}/restore`, { method: "POST", token: ada.token }), 404, "NOT_FOUND");
  });

  it("validates input", async () => {
    const ada = await person("ada");
    await expectProblem(await call("/api/v1/sessions", { method: "POST", token: ada.token, body: {} }), 400, "VALIDATION_FAILED");
    await expectProblem(
      await call("/api/v1/sessions", { method: "POST", token: ada.token, body: { datasetId: "x" } }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await call("/api/v1/sessions", {
        method: "POST",
        token: ada.token,
        body: { datasetId: crypto.randomUUID(), title: "t".repeat(10_000) },
      }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await call("/api/v1/sessions", { method: "POST", token: ada.token, body: { datasetId: crypto.randomUUID() } }),
      404,
      "NOT_FOUND",
    );
    await expectProblem(await call("/api/v1/sessions?limit=500", { token: ada.token }), 400, "VALIDATION_FAILED");
    await expectProblem(await call("/api/v1/sessions/not-a-uuid", { token: ada.token }), 400, "VALIDATION_FAILED");
  });

  it("keeps another tenant out (404), lets a viewer read but not write", async () => {
    const ada = await person("ada");
    const eve = await person("eve");
    const { sessionId, datasetId } = await sessionOn(ada, "sales");
    await expectProblem(await call(`/api/v1/sessions/${sessionId}`, { token: eve.token }), 404, "NOT_FOUND");
    await expectProblem(
      await call(`/api/v1/sessions/${sessionId}`, { method: "PATCH", token: eve.token, body: { title: "mine" } }),
      404,
      "NOT_FOUND",
    );
    await expectProblem(await call(`/api/v1/sessions/${sessionId}`, { method: "DELETE", token: eve.token }), 404, "NOT_FOUND");
    await expectProblem(await call("/api/v1/sessions", { method: "POST", token: eve.token, body: { datasetId } }), 404, "NOT_FOUND");
    expect((await json<{ data: Session[] }>(await call("/api/v1/sessions", { token: eve.token }), 200)).data).toEqual([]);

    // A viewer in a team organization.
    const owner = await person("owner");
    const viewer = await person("viewer");
    const slug = await team(owner);
    await addMember(owner, slug, viewer, "viewer");
    const projectId = (
      await json<{ id: string }>(
        await call("/api/v1/projects", { method: "POST", token: owner.token, body: { name: "Team", org: slug } }),
        201,
      )
    ).id;
    const upload = await checkedFetch(`https://api.test/api/v1/projects/${projectId}/datasets?name=t`, {
      method: "POST",
      headers: { Authorization: `Bearer ${owner.token}`, "Content-Type": "text/csv" },
      body: "a,b\n1,2\n",
    });
    const teamDataset = (await json<{ id: string }>(upload, 201)).id;
    const teamSession = (
      await json<Session>(await call("/api/v1/sessions", { method: "POST", token: owner.token, body: { datasetId: teamDataset } }), 201)
    ).id;
    expect((await call(`/api/v1/sessions/${teamSession}`, { token: viewer.token })).status).toBe(200);
    await expectProblem(
      await call("/api/v1/sessions", { method: "POST", token: viewer.token, body: { datasetId: teamDataset } }),
      403,
      "FORBIDDEN",
    );
    await expectProblem(
      await call(`/api/v1/sessions/${teamSession}/analyses`, { method: "POST", token: viewer.token, body: {} }),
      403,
      "FORBIDDEN",
    );
  });
});
