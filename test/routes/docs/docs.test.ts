// The OpenAPI document and the interactive reference, through the Worker.
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../../src/index.ts";
import { describe, expect, it } from "vitest";

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document generated from the routes", async () => {
    const response = await SELF.fetch("https://api.test/openapi.json");
    expect(response.status).toBe(200);
    const doc = (await response.json()) as {
      openapi: string;
      info: { title: string; version: string };
      servers: { url: string }[];
      paths: Record<string, Record<string, { operationId: string; responses: Record<string, { content?: Record<string, unknown> }> }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: "Datacrafted API", version: "1" });
    expect(doc.servers).toEqual([{ url: "https://api.test" }]);
    expect(doc.paths["/health"]?.get?.operationId).toBe("getLiveness");
    expect(doc.paths["/health/ready"]?.get?.operationId).toBe("getReadiness");
    expect(Object.keys(doc.paths["/health/ready"]?.get?.responses["503"]?.content ?? {})).toEqual(["application/problem+json"]);
    expect(doc.components.schemas).toHaveProperty("Problem");
  });
});

describe("the document's security", () => {
  it("declares bearerAuth, and every /api/v1 operation but sign-up, sign-in, refresh and email verification requires it", async () => {
    const doc = (await (await SELF.fetch("https://api.test/openapi.json")).json()) as {
      paths: Record<string, Record<string, { operationId: string; security?: unknown[]; responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    const operations = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/api/v1/"))
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, ...op })));
    expect(operations.length).toBeGreaterThanOrEqual(19);
    // Public operations say so explicitly (an empty list), so an operation with no word on it would be a mistake.
    for (const op of operations) expect(op.security, op.route).toBeDefined();
    const open = operations.filter((op) => op.security?.length === 0).map((op) => op.operationId).sort();
    expect(open).toEqual(["refreshTokens", "resendVerification", "signIn", "signUp", "verifyEmail"]);
    expect(doc.components.securitySchemes.streamTicket).toMatchObject({ type: "apiKey", in: "query", name: "ticket" });
    for (const op of operations.filter((o) => o.security?.length)) {
      // The events stream alone also takes a stream ticket (for EventSource), as an alternative to the bearer token.
      const expected = op.operationId === "streamSessionEvents" ? [{ bearerAuth: [] }, { streamTicket: [] }] : [{ bearerAuth: [] }];
      expect(op.security, op.route).toEqual(expected);
      expect(Object.keys(op.responses), op.route).toContain("401");
    }
  });
});

describe("GET /docs", () => {
  it("serves the interactive reference pointed at the document", async () => {
    const response = await SELF.fetch("https://api.test/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    const html = await response.text();
    expect(html).toContain("/openapi.json");
    expect(html).toContain("Datacrafted API reference");
  });

  it("loads the reference script from DOCS_SCRIPT_URL when set (npm run dev serves it locally)", async () => {
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request("https://api.test/docs"), { ...env, DOCS_SCRIPT_URL: "http://127.0.0.1:4321/scalar.js" }, ctx);
    await waitOnExecutionContext(ctx);
    const html = await response.text();
    expect(html).toContain('src="http://127.0.0.1:4321/scalar.js"');
    expect(html).not.toContain("cdn.jsdelivr.net");
  });

  it("loads it from the CDN by default", async () => {
    expect(await (await SELF.fetch("https://api.test/docs")).text()).toContain("https://cdn.jsdelivr.net/npm/@scalar/api-reference");
  });
});
