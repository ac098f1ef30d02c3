// The OpenAPI document and the interactive reference, through the Worker.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
// What is installed, read as files (not through the Worker): the bundle /docs must serve, and its version.
import installedBundle from "../../../node_modules/@scalar/api-reference/dist/browser/standalone.js?raw";
import scalarPackageJson from "../../../node_modules/@scalar/api-reference/package.json?raw";
import { checkedFetch } from "../../support/harness.ts";

const scalarPackage = JSON.parse(scalarPackageJson) as { version: string };

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document generated from the routes", async () => {
    const response = await checkedFetch("https://api.test/openapi.json");
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
  it("declares bearerAuth, and every /api/v1 operation but sign-up, sign-in (both steps), refresh and email verification requires it", async () => {
    const doc = (await (await checkedFetch("https://api.test/openapi.json")).json()) as {
      paths: Record<string, Record<string, { operationId: string; security?: unknown[]; responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    const operations = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/api/v1/"))
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, ...op })));
    expect(operations.length).toBeGreaterThanOrEqual(19);
    // The root requires bearerAuth; a public operation says `security: []`, and every operation says one or the other.
    expect((doc as unknown as { security: unknown }).security).toEqual([{ bearerAuth: [] }]);
    for (const op of operations) expect(op.security, op.route).toBeDefined();
    const open = operations
      .filter((op) => op.security!.length === 0)
      .map((op) => op.operationId)
      .sort();
    expect(open).toEqual(["completeMfaSignIn", "refreshTokens", "resendVerification", "signIn", "signUp", "verifyEmail"]);
    expect(doc.components.securitySchemes.streamTicket).toMatchObject({ type: "apiKey", in: "query", name: "ticket" });
    for (const op of operations.filter((o) => o.security!.length > 0)) {
      // The events stream alone also takes a stream ticket (for EventSource), as an alternative to the bearer token.
      const expected = op.operationId === "streamSessionEvents" ? [{ bearerAuth: [] }, { streamTicket: [] }] : [{ bearerAuth: [] }];
      expect(op.security, op.route).toEqual(expected);
      expect(Object.keys(op.responses), op.route).toContain("401");
    }
  });
});

describe("GET /docs", () => {
  /** The nonce the response's CSP allows, and those the page's inline elements carry. */
  async function fetchDocs() {
    const response = await checkedFetch("https://api.test/docs");
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    const html = await response.text();
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    return { response, csp, html, nonce, scripts: [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1] ?? "") };
  }

  it("serves the reference pointed at the document, its scripts all from this Worker and nonce'd by a CSP of its own", async () => {
    const { response, csp, html, nonce, scripts } = await fetchDocs();
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    expect(html).toContain("/openapi.json");
    expect(html).toContain("Datacrafted API reference");
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src 'self' 'nonce-${nonce}'`);
    // Scalar's own <style> elements and style attributes carry no nonce: inline styles, never inline scripts.
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("font-src 'self' data:");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:/);
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    for (const attributes of scripts) expect(attributes).toContain(`nonce="${nonce}"`);
    // No script from anywhere else: the one src is the bundle's own path here.
    const sources = scripts.flatMap((attributes) => [...(/\ssrc="([^"]+)"/.exec(attributes)?.slice(1) ?? [])]);
    expect(sources).toEqual([`/docs/scalar-${scalarPackage.version}.js`]);
    expect(html).not.toContain("cdn.jsdelivr.net");
    expect(html).not.toContain("fonts.scalar.com");
    // A fresh nonce per response.
    expect((await fetchDocs()).nonce).not.toBe(nonce);
  });

  it("turns off Scalar's default fonts, telemetry, developer toolbar, hosted agent and MCP, and its client button", async () => {
    const { html } = await fetchDocs();
    for (const [key, value] of [
      ["withDefaultFonts", "false"],
      ["telemetry", "false"],
      ["showDeveloperTools", '"never"'],
      ["showToolbar", '"never"'],
      ["hideClientButton", "true"],
    ]) {
      expect(html, key).toMatch(new RegExp(`"?${key}"?\\s*:\\s*${value}`));
    }
    expect(html).toMatch(/"?agent"?\s*:\s*\{\s*"?disabled"?\s*:\s*true/);
    expect(html).toMatch(/"?mcp"?\s*:\s*\{\s*"?disabled"?\s*:\s*true/);
  });

  it("serves the installed Scalar bundle, byte for byte, at a path naming its version, cached for good", async () => {
    const response = await SELF.fetch(`https://api.test/docs/scalar-${scalarPackage.version}.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    const body = await response.text();
    expect(body.length).toBe(installedBundle.length);
    expect(body === installedBundle).toBe(true);
  });

  it("answers 404 for a bundle of another version", async () => {
    const response = await SELF.fetch("https://api.test/docs/scalar-0.0.1.js");
    expect(response.status).toBe(404);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
    await response.arrayBuffer();
  });
});

type Doc = {
  tags: { name: string; description: string }[];
  paths: Record<
    string,
    Record<
      string,
      Record<string, unknown> & {
        operationId: string;
        tags?: string[];
        description?: string;
        parameters?: unknown[];
        requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
        responses: Record<string, { headers?: Record<string, { $ref?: string }> }>;
      }
    >
  >;
  components: {
    schemas: Record<string, { properties?: Record<string, unknown> }>;
    headers: Record<string, unknown>;
    parameters: Record<string, { name: string; in: string }>;
  };
};
const served = async () => (await (await checkedFetch("https://api.test/openapi.json")).json()) as Doc;
const operationsOf = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, op]) => ({ path, method, ...op })));

describe("the document's shape", () => {
  it("names each operation once, tags and describes every one, and lists every tag used", async () => {
    const doc = await served();
    const operations = operationsOf(doc);
    const ids = operations.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const listed = new Set(doc.tags.map((tag) => tag.name));
    for (const op of operations) {
      expect(op.tags?.length, op.operationId).toBe(1);
      expect(listed.has(op.tags![0]!), `${op.operationId}'s tag ${op.tags![0]} is listed`).toBe(true);
      expect(op.description?.trim(), op.operationId).toBeTruthy();
    }
    for (const tag of doc.tags) expect(tag.description, tag.name).toBeTruthy();
  });

  it("documents nullable references as nullable: Analysis.error is a Problem or null", async () => {
    const doc = await served();
    expect(doc.components.schemas.Analysis?.properties?.error).toMatchObject({
      anyOf: [{ $ref: "#/components/schemas/Problem" }, { type: "null" }],
    });
    expect(JSON.stringify(doc)).not.toMatch(/"allOf":\[\{"\$ref":"[^"]+"\},\{"type":\[[^\]]*"null"/);
  });

  it("describes the upload body per media type", async () => {
    const doc = await served();
    const content = doc.paths["/api/v1/projects/{id}/datasets"]!.post!.requestBody!.content;
    expect(content["text/csv"]!.schema).toMatchObject({ type: "string" });
    expect(content["application/x-ndjson"]!.schema).toMatchObject({ type: "string" });
    expect(content["application/json"]!.schema).toMatchObject({ type: "array", items: { type: "object" } });
    expect(content["multipart/form-data"]!.schema).toMatchObject({
      type: "object",
      required: ["file"],
      properties: { file: { type: "string", format: "binary" } },
    });
  });

  it("declares the pipeline's headers once and references them where they are answered", async () => {
    const doc = await served();
    for (const name of ["RateLimit", "RateLimit-Policy", "Retry-After", "ETag", "Link", "X-Request-ID"])
      expect(doc.components.headers, name).toHaveProperty([name]);
    expect(doc.components.parameters.IdempotencyKey).toMatchObject({ name: "Idempotency-Key", in: "header" });
    const ref = (name: string) => ({ $ref: `#/components/headers/${name}` });
    const listProjects = doc.paths["/api/v1/projects"]!.get!.responses["200"]!.headers!;
    for (const name of ["X-Request-ID", "RateLimit", "RateLimit-Policy", "ETag", "Link"])
      expect(listProjects[name], name).toEqual(ref(name));
    expect(doc.paths["/api/v1/projects/{id}"]!.get!.responses["200"]!.headers!.ETag).toEqual(ref("ETag"));
    expect(doc.paths["/api/v1/projects"]!.post!.responses["429"]!.headers!["Retry-After"]).toEqual(ref("Retry-After"));
    expect(doc.paths["/api/v1/projects"]!.post!.parameters).toContainEqual({ $ref: "#/components/parameters/IdempotencyKey" });
    // A list answers 304 to its ETag; a PATCH under a reused or busy Idempotency-Key answers 422 or 409.
    expect(doc.paths["/api/v1/projects"]!.get!.responses["304"]!.headers!.ETag).toEqual(ref("ETag"));
    const patch = doc.paths["/api/v1/projects/{id}"]!.patch!;
    expect(Object.keys(patch.responses)).toEqual(expect.arrayContaining(["409", "422"]));
    expect(patch.parameters).toContainEqual({ $ref: "#/components/parameters/IdempotencyKey" });
  });

  it("gives every integer a format", async () => {
    const integers: unknown[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) {
        for (const item of node) walk(item);
        return;
      }
      if (!node || typeof node !== "object") return;
      const schema = node as Record<string, unknown>;
      if (schema.type === "integer" || (Array.isArray(schema.type) && schema.type.includes("integer"))) integers.push(schema);
      Object.values(schema).forEach(walk);
    };
    walk(await served());
    expect(integers.length).toBeGreaterThan(10);
    for (const schema of integers) expect(["int32", "int64"], JSON.stringify(schema)).toContain((schema as { format?: string }).format);
  });
});
