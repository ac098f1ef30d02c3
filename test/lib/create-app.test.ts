// createApp's pipeline with routes of the test's own (unit style, app.request): validation, media types, crashes, aliases.
import { createRoute, z } from "@hono/zod-openapi";
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/lib/create-app.ts";
import { problemResponses } from "../../src/lib/openapi.ts";
import { expectProblem } from "../support/problem.ts";

const createThing = createRoute({
  method: "post",
  path: "/api/v1/things/{id}",
  request: {
    params: z.object({ id: z.uuid() }),
    query: z.object({ dryRun: z.enum(["true", "false"]).optional() }),
    body: {
      required: true,
      content: {
        "application/json": { schema: z.object({ name: z.string().min(1).max(200), color: z.string().regex(/^#[0-9a-f]{6}$/i) }) },
      },
    },
  },
  responses: {
    201: {
      description: "Created",
      content: { "application/json": { schema: z.object({ id: z.string(), name: z.string(), dryRun: z.boolean() }) } },
    },
    ...problemResponses(400, 415),
  },
});

function testApp() {
  const app = createApp({
    aliases: [
      {
        from: "/api/things",
        to: "/api/v1/things",
        deprecatedAt: new Date("2026-01-01T00:00:00Z"),
        sunset: new Date("2030-01-01T00:00:00Z"),
      },
    ],
  });
  app.openapi(createThing, (c) => {
    const { id } = c.req.valid("param");
    const { name } = c.req.valid("json");
    return c.json({ id, name, dryRun: c.req.valid("query").dryRun === "true" }, 201);
  });
  app.get("/boom", () => {
    throw new Error("secret internal detail: password=hunter2");
  });
  return app;
}

const id = "6c8f7c43-3b1e-4e5a-9d2f-0a7e1c2b3d4e";
const post = (path: string, body: string, contentType = "application/json") =>
  testApp().request(path, { method: "POST", body, headers: { "Content-Type": contentType } }, env);

afterEach(() => vi.restoreAllMocks());

describe("validation", () => {
  it("accepts a valid request", async () => {
    const response = await post(`/api/v1/things/${id}?dryRun=true`, JSON.stringify({ name: "A", color: "#aabbcc" }));
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ id, name: "A", dryRun: true });
  });

  it("lists every invalid field of params, query and body as 400 VALIDATION_FAILED", async () => {
    const bad = await post(`/api/v1/things/not-a-uuid`, JSON.stringify({ name: "A", color: "#aabbcc" }));
    const params = await expectProblem(bad, 400, "VALIDATION_FAILED");
    expect(params.errors).toEqual([{ path: "param.id", message: expect.any(String) }]);

    const badQuery = await post(`/api/v1/things/${id}?dryRun=maybe`, JSON.stringify({ name: "A", color: "#aabbcc" }));
    expect((await expectProblem(badQuery, 400, "VALIDATION_FAILED")).errors).toEqual([
      { path: "query.dryRun", message: expect.any(String) },
    ]);

    const badBody = await post(`/api/v1/things/${id}`, JSON.stringify({ name: "x".repeat(10_000), color: "red" }));
    const body = await expectProblem(badBody, 400, "VALIDATION_FAILED");
    expect(body.errors?.map((error) => error.path).sort()).toEqual(["body.color", "body.name"]);
    expect(body.detail).toBe("The request has 2 invalid fields.");
  });

  it("answers malformed JSON with 400 INVALID_JSON", async () => {
    await expectProblem(await post(`/api/v1/things/${id}`, "{not json"), 400, "INVALID_JSON");
  });

  it("answers an undeclared media type with 415", async () => {
    await expectProblem(await post(`/api/v1/things/${id}`, "name=A", "application/x-www-form-urlencoded"), 415, "UNSUPPORTED_MEDIA_TYPE");
    await expectProblem(await post(`/api/v1/things/${id}`, "<a/>", "text/xml"), 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("answers a body sent without Content-Type with 415", async () => {
    const response = await testApp().request(
      `/api/v1/things/${id}`,
      { method: "POST", body: new TextEncoder().encode('{"name":"A","color":"#aabbcc"}') },
      env,
    );
    await expectProblem(response, 415, "UNSUPPORTED_MEDIA_TYPE");
  });
});

describe("uncaught exceptions", () => {
  it("answer 500 with only the request id; the cause goes to the log", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await testApp().request("/boom", {}, env);
    const body = await expectProblem(response, 500, "INTERNAL_ERROR");
    expect(JSON.stringify(body)).not.toContain("hunter2");
    expect(body.detail).toContain(body.requestId);
    const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: "unhandled error",
        error: expect.stringContaining("secret internal detail"),
        requestId: body.requestId,
      }),
    );
  });
});

describe("request log", () => {
  it("writes one JSON line per request with the route pattern, not the raw path", async () => {
    const logged = vi.spyOn(console, "log").mockImplementation(() => {});
    const app = testApp();
    await app.request(
      `/api/v1/things/${id}`,
      { method: "POST", body: JSON.stringify({ name: "A", color: "#aabbcc" }), headers: { "Content-Type": "application/json" } },
      { ...env, LOG_LEVEL: "info" },
    );
    const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({
        level: "info",
        message: "request",
        method: "POST",
        route: "/api/v1/things/:id",
        status: 201,
        durationMs: expect.any(Number),
        requestId: expect.any(String),
        userId: null,
      }),
    ]);
  });
});

describe("deprecated aliases", () => {
  it("route an old path to its successor with method, query and body intact", async () => {
    const response = await post(`/api/things/${id}?dryRun=true`, JSON.stringify({ name: "Old", color: "#000000" }));
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ id, name: "Old", dryRun: true });
    expect(response.headers.get("Deprecation")).toBe(`@${Date.parse("2026-01-01T00:00:00Z") / 1000}`);
    expect(response.headers.get("Sunset")).toBe("Tue, 01 Jan 2030 00:00:00 GMT");
    expect(response.headers.get("Link")).toBe(`</api/v1/things/${id}>; rel="successor-version"`);
  });

  it("do not capture paths that only share a prefix", async () => {
    const response = await post(`/api/thingsmore/${id}`, "{}");
    await expectProblem(response, 404, "NOT_FOUND");
    expect(response.headers.get("Deprecation")).toBeNull();
  });
});
