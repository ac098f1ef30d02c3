// The deprecated body-addressed aliases through the Worker (integration via SELF): POST /api/chat and /api/analyze reach their successors, marked deprecated.
import { describe, expect, it } from "vitest";
import { call, json, person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { dataOf, readSse, sessionOn } from "../../support/analysis.ts";

function expectDeprecated(response: Response, successor?: string) {
  expect(response.headers.get("Deprecation")).toMatch(/^@\d+$/);
  expect(new Date(response.headers.get("Sunset")!).getTime()).toBeGreaterThan(Date.now());
  if (successor) expect(response.headers.get("Link")).toBe(`<${successor}>; rel="successor-version"`);
}

describe("POST /api/chat (deprecated alias)", () => {
  it("answers as POST /api/v1/sessions/{sessionId}/chat, keeping the request id", async () => {
    const ada = await person("alias-chat");
    const { sessionId } = await sessionOn(ada, "sales");
    const response = await call("/api/chat", {
      method: "POST",
      token: ada.token,
      body: { sessionId, message: "What about units?", engine: "statistical" },
      headers: { "X-Request-ID": "legacy-chat-0001" },
    });
    expectDeprecated(response, `/api/v1/sessions/${sessionId}/chat`);
    expect(response.headers.get("X-Request-ID")).toBe("legacy-chat-0001");
    const reply = await json<{ role: string; engine: string; content: string }>(response, 201);
    expect(reply).toMatchObject({ role: "assistant", engine: "statistical", content: expect.stringContaining("**units**") });
    const messages = await json<{ data: { role: string; content: string }[] }>(
      await call(`/api/v1/sessions/${sessionId}/messages`, { token: ada.token }),
      200,
    );
    expect(messages.data.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(messages.data[0]!.content).toBe("What about units?");
  });

  it("counts a legacy call once against the caller's rate limit, as the successor call it becomes", async () => {
    const ada = await person("alias-count");
    const { sessionId } = await sessionOn(ada, "sales");
    const remaining = async () => {
      const response = await call("/api/chat", {
        method: "POST",
        token: ada.token,
        body: { sessionId, message: "units?", engine: "statistical" },
      });
      expect(response.status).toBe(201);
      return Number(/r=(\d+)/.exec(response.headers.get("RateLimit") ?? "")?.[1]);
    };
    const first = await remaining();
    expect(first - (await remaining())).toBe(1);
  });

  it("streams when asked, as the successor does", async () => {
    const ada = await person("alias-chat-sse");
    const { sessionId } = await sessionOn(ada, "sales");
    const response = await call("/api/chat", {
      method: "POST",
      token: ada.token,
      body: { sessionId, message: "overview", engine: "statistical" },
      headers: { Accept: "text/event-stream" },
    });
    expectDeprecated(response, `/api/v1/sessions/${sessionId}/chat`);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    const { events } = await readSse(response, (all) => all.some((event) => event.event === "done"));
    expect(events.map((event) => event.event)).toContain("delta");
    expect(dataOf(events.at(-1)!)).toMatchObject({ engine: "statistical" });
  });

  it("refuses a bad body with a 400 problem, still marked deprecated", async () => {
    const ada = await person("alias-chat-bad");
    for (const body of [{ message: "no session" }, { sessionId: "not-a-uuid", message: "hi" }, { sessionId: crypto.randomUUID() }]) {
      const response = await call("/api/chat", { method: "POST", token: ada.token, body });
      expectDeprecated(response);
      const problem = await expectProblem(response, 400, "VALIDATION_FAILED");
      expect(problem.instance).toBe("/api/chat");
      expect(problem.errors![0]!.path).toMatch(/^body\./);
    }
    const malformed = await call("/api/chat", { method: "POST", token: ada.token, headers: { "Content-Type": "application/json" } });
    await expectProblem(malformed, 400, "INVALID_JSON");
  });

  it("keeps the successor's answers: 401 without credentials, 404 for a session that is not yours", async () => {
    const ada = await person("alias-chat-owner");
    const eve = await person("alias-chat-other");
    const { sessionId } = await sessionOn(ada, "sales");
    const anonymous = await call("/api/chat", { method: "POST", body: { sessionId, message: "hi" } });
    expectDeprecated(anonymous);
    await expectProblem(anonymous, 401, "UNAUTHORIZED");
    const other = await call("/api/chat", { method: "POST", token: eve.token, body: { sessionId, message: "hi", engine: "statistical" } });
    expectDeprecated(other, `/api/v1/sessions/${sessionId}/chat`);
    const problem = await expectProblem(other, 404, "NOT_FOUND");
    expect(problem.instance).toBe(`/api/v1/sessions/${sessionId}/chat`);
  });
});

describe("POST /api/analyze (deprecated alias)", () => {
  it("runs an analysis as POST /api/v1/sessions/{sessionId}/analyses", async () => {
    const ada = await person("alias-analyze");
    const { sessionId } = await sessionOn(ada, "sales");
    const response = await call("/api/analyze", {
      method: "POST",
      token: ada.token,
      body: { sessionId, engine: "statistical" },
      headers: { Accept: "text/event-stream" },
    });
    expectDeprecated(response, `/api/v1/sessions/${sessionId}/analyses`);
    const { events } = await readSse(response, (all) => all.some((event) => event.event === "done" || event.event === "problem"));
    expect(events.at(-1)!.event).toBe("done");
    const analyses = await json<{ data: { status: string; engine: string }[] }>(
      await call(`/api/v1/sessions/${sessionId}/analyses`, { token: ada.token }),
      200,
    );
    expect(analyses.data).toEqual([expect.objectContaining({ status: "succeeded", engine: "statistical" })]);
  });

  it("passes the question on, and refuses a body without a session id", async () => {
    const ada = await person("alias-analyze-q");
    const { sessionId } = await sessionOn(ada, "sales");
    const response = await call("/api/analyze", {
      method: "POST",
      token: ada.token,
      body: { sessionId, question: "Which region leads?", engine: "statistical" },
      headers: { Accept: "text/event-stream" },
    });
    await readSse(response, (all) => all.some((event) => event.event === "done" || event.event === "problem"));
    const analyses = await json<{ data: { question: string }[] }>(
      await call(`/api/v1/sessions/${sessionId}/analyses`, { token: ada.token }),
      200,
    );
    expect(analyses.data[0]!.question).toBe("Which region leads?");
    const bad = await call("/api/analyze", { method: "POST", token: ada.token, body: { question: "no session" } });
    expectDeprecated(bad);
    await expectProblem(bad, 400, "VALIDATION_FAILED");
  });
});
