// The OpenAPI document and the interactive reference, through the Worker.
import { SELF } from "cloudflare:test";
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

describe("GET /docs", () => {
  it("serves the interactive reference pointed at the document", async () => {
    const response = await SELF.fetch("https://api.test/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    const html = await response.text();
    expect(html).toContain("/openapi.json");
    expect(html).toContain("Datacrafted API reference");
  });
});
