// W3C trace context: the parser (unit) and the header's way from a request to the model and into the log (integration via SELF).
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index.ts";
import { traceContext } from "../../src/lib/trace-context.ts";
import { call, json, person } from "../support/harness.ts";
import { scenario, sessionOn, stubRequests } from "../support/analysis.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";

describe("traceContext() (unit)", () => {
  it("continues a valid incoming trace with a span of its own, keeping the flags", () => {
    const trace = traceContext(`00-${TRACE}-${PARENT}-00`);
    expect(trace).toMatchObject({ traceId: TRACE, parentId: PARENT });
    expect(trace.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(trace.spanId).not.toBe(PARENT);
    expect(trace.traceparent).toBe(`00-${TRACE}-${trace.spanId}-00`);
  });

  it("reads an upper-case header, and a later version as version 00", () => {
    expect(traceContext(`00-${TRACE.toUpperCase()}-${PARENT}-01`).traceId).toBe(TRACE);
    expect(traceContext(`01-${TRACE}-${PARENT}-01`).traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
  });

  it.each([
    ["missing", undefined],
    ["garbage", "not a trace"],
    ["version ff", `ff-${TRACE}-${PARENT}-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${PARENT}-01`],
    ["an all-zero parent id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["a short trace id", `00-${TRACE.slice(1)}-${PARENT}-01`],
  ])("starts a new sampled trace for %s", (_, header) => {
    const trace = traceContext(header);
    expect(trace.parentId).toBeNull();
    expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(trace.traceId).not.toBe(TRACE);
    expect(trace.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});

describe("traceparent through the Worker (integration via SELF)", () => {
  it("forwards the client's trace to the model as a child span", async () => {
    const ada = await person("trace-chat");
    const { sessionId } = await sessionOn(ada, "sales");
    const marker = `trace-${crypto.randomUUID().slice(0, 8)}`;
    await scenario(marker, [{ content: "Traced answer." }]);
    const response = await call(`/api/v1/sessions/${sessionId}/chat`, {
      method: "POST",
      token: ada.token,
      body: { message: `Hello ${marker}`, engine: "openai" },
      headers: { traceparent: `00-${TRACE}-${PARENT}-01` },
    });
    await json(response, 201);
    const [request] = (await stubRequests(marker)) as unknown as { headers: Record<string, string> }[];
    const sent = request!.headers.traceparent!;
    expect(sent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    expect(sent).not.toContain(PARENT);
  });

  it("writes the trace id and the problem code on the request's log line", async () => {
    const lines: string[] = [];
    const info = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      // Through the Worker's fetch with LOG_LEVEL=info (the suite's Worker logs errors only).
      const ctx = createExecutionContext();
      const request = new Request("https://api.test/api/v1/projects", { headers: { traceparent: `00-${TRACE}-${PARENT}-01` } });
      const response = await worker.fetch(request, { ...env, LOG_LEVEL: "info" }, ctx);
      await waitOnExecutionContext(ctx);
      expect(response.status).toBe(401);
    } finally {
      info.mockRestore();
    }
    const entries = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    const logged = entries.find((entry) => entry.message === "request" && entry.traceId === TRACE);
    expect(logged, JSON.stringify(entries)).toMatchObject({ status: 401, code: "UNAUTHORIZED", traceId: TRACE });
  });
});
