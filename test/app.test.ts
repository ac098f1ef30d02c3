// The whole pipeline through the Worker's fetch (integration via SELF): ids, versions, errors, CORS, deprecated aliases.
import { describe, expect, it } from "vitest";
import { expectProblem } from "./support/problem.ts";
import { checkedFetch } from "./support/harness.ts";

const url = (path: string) => `https://api.test${path}`;

describe("request id", () => {
  it("generates one when the client sends none", async () => {
    const response = await checkedFetch(url("/health"));
    expect(response.headers.get("X-Request-ID")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("keeps a sane one from the client", async () => {
    const response = await checkedFetch(url("/health"), { headers: { "X-Request-ID": "client-trace_42=" } });
    expect(response.headers.get("X-Request-ID")).toBe("client-trace_42=");
  });

  it("replaces one with unsafe characters or too long", async () => {
    for (const bad of ["has spaces in it", "a".repeat(200), "<script>"]) {
      const response = await checkedFetch(url("/health"), { headers: { "X-Request-ID": bad } });
      expect(response.headers.get("X-Request-ID")).not.toBe(bad);
      expect(response.headers.get("X-Request-ID")).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe("every response", () => {
  it("names the API version and carries secure headers, errors included", async () => {
    for (const path of ["/health", "/nope"]) {
      const response = await checkedFetch(url(path));
      expect(response.headers.get("API-Version")).toBe("1");
      expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(response.headers.get("Strict-Transport-Security")).toContain("max-age=");
    }
  });
});

describe("errors", () => {
  it("answers an unknown route with a 404 problem", async () => {
    const response = await checkedFetch(url("/api/v1/does-not-exist?x=1"));
    const body = await expectProblem(response, 404, "NOT_FOUND");
    expect(body.instance).toBe("/api/v1/does-not-exist");
    expect(body.detail).toContain("GET /api/v1/does-not-exist");
  });

  it("answers a path with no route under a protected prefix with 404, credentials or none: authentication belongs to routes", async () => {
    for (const path of [
      "/api/v1/orgs/acme/no-such-thing",
      "/api/v1/projects/00000000-0000-4000-8000-000000000000/nope",
      "/api/v1/sessions/x/y/z",
    ]) {
      const response = await checkedFetch(url(path));
      const body = await expectProblem(response, 404, "NOT_FOUND");
      expect(body.instance).toBe(path);
      expect(response.headers.get("WWW-Authenticate")).toBeNull();
    }
  });

  it("still refuses a bad credential sent to a path with no route (401): a token sent is always checked", async () => {
    const response = await checkedFetch(url("/api/v1/orgs/acme/no-such-thing"), { headers: { Authorization: "Bearer not-a-token" } });
    await expectProblem(response, 401, "INVALID_TOKEN");
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm=/);
  });

  it("answers a wrong method with 405 and Allow", async () => {
    const response = await checkedFetch(url("/health/ready"), { method: "DELETE" });
    await expectProblem(response, 405, "METHOD_NOT_ALLOWED");
    expect(response.headers.get("Allow")).toBe("GET, HEAD");
  });

  it("answers a body over MAX_BODY_BYTES with 413, declared or streamed", async () => {
    const big = "x".repeat(1024 * 1024 + 1);
    const declared = await checkedFetch(url("/health"), { method: "POST", body: big, headers: { "Content-Type": "text/plain" } });
    const problem = await expectProblem(declared, 413, "PAYLOAD_TOO_LARGE");
    expect(problem.detail).toContain("1048576");

    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 17; i++) controller.enqueue(new Uint8Array(64 * 1024));
        controller.close();
      },
    });
    const streamed = await checkedFetch(url("/health"), { method: "POST", body: stream, headers: { "Content-Type": "application/json" } });
    await expectProblem(streamed, 413, "PAYLOAD_TOO_LARGE");
  });
});

describe("CORS", () => {
  it("allows a configured origin, with the headers a browser client needs to read", async () => {
    const response = await checkedFetch(url("/health"), { headers: { Origin: "https://app.example.com" } });
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
    expect(response.headers.get("Access-Control-Expose-Headers")).toContain("X-Request-ID");
    expect(response.headers.get("Vary")).toContain("Origin");
  });

  it("answers a preflight from a configured origin", async () => {
    const response = await checkedFetch(url("/api/v1/projects"), {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,idempotency-key",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
    expect(response.headers.get("Access-Control-Allow-Methods")).toContain("POST");
    expect(response.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("idempotency-key");
  });

  it("gives another origin no grant", async () => {
    const response = await checkedFetch(url("/health"), { headers: { Origin: "https://evil.example.net" } });
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});

describe("deprecated aliases", () => {
  it("mark an old path with Deprecation, Sunset and its successor, problems included", async () => {
    const response = await checkedFetch(url("/api/projects/abc"));
    expect(response.headers.get("Deprecation")).toMatch(/^@\d+$/);
    expect(new Date(response.headers.get("Sunset")!).getTime()).toBeGreaterThan(Date.now());
    expect(response.headers.get("Link")).toBe('</api/v1/projects/abc>; rel="successor-version"');
    // The alias answers as its successor would: here, without credentials, a 401.
    const body = await expectProblem(response, 401, "UNAUTHORIZED");
    expect(body.instance).toBe("/api/projects/abc");
  });

  it("leave current paths unmarked", async () => {
    const response = await checkedFetch(url("/health"));
    expect(response.headers.get("Deprecation")).toBeNull();
    expect(response.headers.get("Sunset")).toBeNull();
  });
});
