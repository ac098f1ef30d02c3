// Standard HTTP on reads and conditional writes (integration via SELF): list ETags with If-None-Match, the strong If-Match
// comparison, the CORS grant for Prefer and Content-Disposition, and one Vary: Origin on a re-dispatched legacy alias.
import { describe, expect, it } from "vitest";
import { addMember, call, json, person, team } from "../support/harness.ts";
import { expectProblem } from "../support/problem.ts";
import { sessionOn } from "../support/analysis.ts";

const createProject = async (token: string, org: string, name: string) => {
  const response = await call("/api/v1/projects", { method: "POST", token, body: { org, name } });
  return { project: await json<{ id: string }>(response, 201), etag: response.headers.get("ETag")! };
};

describe("list ETags (src/middleware/list-etag.ts)", () => {
  it("answers a list with a weak ETag, 304 to If-None-Match while it is unchanged, and a new tag once it changes", async () => {
    const ada = await person("etag-list");
    const slug = await team(ada);
    await createProject(ada.token, slug, "First");
    const path = `/api/v1/projects?org=${slug}`;
    const first = await call(path, { token: ada.token });
    expect(first.status).toBe(200);
    const etag = first.headers.get("ETag")!;
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);

    const again = await call(path, { token: ada.token, headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get("ETag")).toBe(etag);
    expect(again.headers.get("Content-Type")).toBeNull();
    expect(again.headers.get("X-Request-ID")).toBeTruthy();
    expect(await again.text()).toBe("");
    // The strong form of the same tag matches too: If-None-Match uses the weak comparison (RFC 9110 §13.1.2).
    expect((await call(path, { token: ada.token, headers: { "If-None-Match": etag.slice(2) } })).status).toBe(304);

    await createProject(ada.token, slug, "Second");
    const changed = await call(path, { token: ada.token, headers: { "If-None-Match": etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("ETag")).not.toBe(etag);
    expect((await json<{ data: unknown[] }>(changed, 200)).data).toHaveLength(2);
  });

  it("is a digest of what the caller sees: two members share it, an outsider's empty list has its own", async () => {
    const [ada, bob] = [await person("etag-a"), await person("etag-b")];
    const slug = await team(ada);
    await addMember(ada, slug, bob, "viewer");
    await createProject(ada.token, slug, "Shared");
    const path = `/api/v1/projects?org=${slug}`;
    const adas = (await call(path, { token: ada.token })).headers.get("ETag");
    const bobs = (await call(path, { token: bob.token })).headers.get("ETag");
    expect(bobs).toBe(adas);
    // Someone outside the organization lists nothing (a slug outside one's organizations filters to no rows): a tag of its
    // own, so the members' tag never answers them 304.
    const eve = await person("etag-e");
    const outside = await call(path, { token: eve.token, headers: { "If-None-Match": adas! } });
    expect((await json<{ data: unknown[] }>(outside, 200)).data).toEqual([]);
    expect(outside.headers.get("ETag")).not.toBe(adas);
  });

  it("leaves single resources their own strong, version-based tag", async () => {
    const ada = await person("etag-one");
    const { project, etag } = await createProject(ada.token, await team(ada), "One");
    expect(etag).toBe('"1"');
    expect((await call(`/api/v1/projects/${project.id}`, { token: ada.token })).headers.get("ETag")).toBe('"1"');
  });
});

describe("If-Match uses the strong comparison (RFC 9110 §13.1.1)", () => {
  it("refuses a weak tag naming the current version with 412", async () => {
    const ada = await person("ifmatch-weak");
    const { project, etag } = await createProject(ada.token, await team(ada), "Draft");
    const weak = await call(`/api/v1/projects/${project.id}`, {
      method: "PATCH",
      token: ada.token,
      body: { name: "Final" },
      headers: { "If-Match": `W/${etag}` },
    });
    await expectProblem(weak, 412, "PRECONDITION_FAILED");
    const strong = await call(`/api/v1/projects/${project.id}`, {
      method: "PATCH",
      token: ada.token,
      body: { name: "Final" },
      headers: { "If-Match": `W/"0", ${etag}` },
    });
    expect(strong.status).toBe(200);
  });
});

describe("CORS for browser clients", () => {
  it("allows Prefer in a preflight and exposes Content-Disposition", async () => {
    const preflight = await call("/api/v1/sessions/00000000-0000-4000-8000-000000000000/analyses", {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "prefer,content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(
      preflight.headers
        .get("Access-Control-Allow-Headers")
        ?.toLowerCase()
        .split(/\s*,\s*/),
    ).toContain("prefer");
    const read = await call("/health", { headers: { Origin: "https://app.example.com" } });
    expect(read.headers.get("Access-Control-Expose-Headers")?.split(/\s*,\s*/)).toContain("Content-Disposition");
  });

  it("answers one Vary: Origin on a re-dispatched legacy alias", async () => {
    const ada = await person("alias-vary");
    const { sessionId } = await sessionOn(ada, "sales");
    const response = await call("/api/chat", {
      method: "POST",
      token: ada.token,
      body: { sessionId, message: "How many rows?", engine: "statistical" },
      headers: { Origin: "https://app.example.com" },
    });
    expect(response.status).toBe(201);
    const vary = response.headers
      .get("Vary")!
      .split(/\s*,\s*/)
      .map((name) => name.toLowerCase());
    expect(vary.filter((name) => name === "origin")).toHaveLength(1);
  });
});
