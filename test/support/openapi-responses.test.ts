// The response checker itself: it passes what the Worker really answers and refuses each kind of drift.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, json, person } from "./harness.ts";
import { checkResponse } from "./openapi-responses.ts";

const fetchDocument = () => SELF.fetch("https://api.test/openapi.json");
const headers = { "Content-Type": "application/json", "X-Request-ID": "r-1", "API-Version": "1" };
const check = (method: string, path: string, response: Response) =>
  checkResponse(method, `https://api.test${path}`, response, fetchDocument);

describe("checkResponse", () => {
  it("passes a real answer, and refuses it once a required field is gone or a non-nullable one is null", async () => {
    const ada = await person("checker");
    const response = await call("/api/v1/projects", { method: "POST", token: ada.token, body: { name: "Checked" } });
    const project = await json<Record<string, unknown>>(response.clone(), 201);
    await check("POST", "/api/v1/projects", response);
    const { name: _name, ...nameless } = project;
    await expect(check("POST", "/api/v1/projects", new Response(JSON.stringify(nameless), { status: 201, headers }))).rejects.toThrow(
      /body does not match/,
    );
    await expect(
      check("POST", "/api/v1/projects", new Response(JSON.stringify({ ...project, id: null }), { status: 201, headers })),
    ).rejects.toThrow(/body does not match/);
  });

  it("refuses an undocumented status, an undocumented media type and a missing X-Request-ID", async () => {
    await expect(check("GET", "/api/v1/projects", new Response("{}", { status: 418, headers }))).rejects.toThrow(/status not documented/);
    await expect(
      check("GET", "/health", new Response("ok", { status: 200, headers: { ...headers, "Content-Type": "text/plain" } })),
    ).rejects.toThrow(/Content-Type text\/plain not documented/);
    const { "X-Request-ID": _id, ...without } = headers;
    await expect(check("GET", "/health", new Response('{"status":"ok"}', { status: 200, headers: without }))).rejects.toThrow(
      /required header X-Request-ID missing/,
    );
    await expect(check("GET", "/health", new Response('{"status":"ok"}', { status: 200, headers }))).resolves.toBeUndefined();
  });

  it("matches templated paths and leaves undocumented paths alone", async () => {
    await expect(check("GET", `/api/v1/projects/${crypto.randomUUID()}`, new Response("{}", { status: 418, headers }))).rejects.toThrow(
      /getProject/,
    );
    await expect(check("GET", "/api/projects", new Response("{}", { status: 418, headers }))).resolves.toBeUndefined();
  });
});
