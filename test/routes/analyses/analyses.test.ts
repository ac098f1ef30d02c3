// Analyses through the Worker: streamed (SSE) and queued runs against the stub model and the statistical engine, failures, tenancy.
import { createMessageBatch, env, getQueueResult, createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index.ts";
import { call, json, person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { analyse, dataOf, readSse, scenario, sessionOn, stubRequests, validAnswer } from "../../support/analysis.ts";
import { eventually } from "../../support/eventually.ts";

interface Analysis {
  id: string;
  status: string;
  mode: string;
  engine: string;
  model: string | null;
  summary: string | null;
  insights: { title: string; columns: string[] }[];
  charts: { type: string; dataKeys: string[] }[];
  usage: { promptTokens: number | null; completionTokens: number | null };
  error: { code: string } | null;
  attempts: number;
}

const unique = (label: string) => `${label}-${crypto.randomUUID()}`;
const getAnalysis = async (token: string, id: string) => json<Analysis>(await call(`/api/v1/analyses/${id}`, { token }), 200);

const until = <T>(probe: () => Promise<T>, done: (value: T) => boolean) => eventually(probe, done, { intervalMs: 200 });

describe("POST /sessions/{id}/analyses as an event stream", () => {
  it("streams status, insights, charts and done from the model, and saves the analysis with its charts", async () => {
    const ada = await person("ada");
    const name = unique("sales");
    const { sessionId } = await sessionOn(ada, name);
    const response = await analyse(ada, sessionId);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    const { events } = await readSse(response);
    const kinds = events.map((event) => event.event);
    expect(kinds[0]).toBe("status");
    expect(kinds.at(-1)).toBe("done");
    expect(kinds.filter((kind) => kind === "insight").length).toBeGreaterThan(0);
    expect(kinds.filter((kind) => kind === "chart").length).toBeGreaterThan(0);
    // Insights arrive before the charts, in the order the model wrote them.
    expect(kinds.lastIndexOf("insight")).toBeLessThan(kinds.indexOf("chart"));
    const done = dataOf<{ analysisId: string; status: string }>(events.at(-1)!);
    expect(done.status).toBe("succeeded");

    const analysis = await getAnalysis(ada.token, done.analysisId);
    expect(analysis).toMatchObject({ status: "succeeded", mode: "stream", engine: "openai", model: "gpt-4o-mini", error: null });
    expect(analysis.insights.length).toBe(kinds.filter((kind) => kind === "insight").length);
    expect(analysis.charts.length).toBe(kinds.filter((kind) => kind === "chart").length);
    expect(analysis.usage.promptTokens).toBeGreaterThan(0);
    expect(analysis.usage.completionTokens).toBeGreaterThan(0);
  });

  it("builds the prompt from the profile and sample, never the raw file", async () => {
    const ada = await person("ada");
    const name = unique("sales");
    // Sorts inside the column's range and is seen once, so only the raw file could put it in a prompt.
    const marker = `row-0030-${crypto.randomUUID()}`;
    const { sessionId } = await sessionOn(ada, name, (await import("../../support/analysis.ts")).salesCsv(80, marker));
    await readSse(await analyse(ada, sessionId, { question: "Which region sells most?" }));
    const [request] = await stubRequests(name);
    const prompt = request!.messages.map((message) => message.content).join("\n");
    expect(prompt).toContain('"name":"revenue"');
    expect(prompt).toContain("Which region sells most?");
    expect(prompt).not.toContain(marker);
  });

  it("keeps only what names real columns: an unknown chart column drops the chart, an unknown insight column is removed", async () => {
    const ada = await person("ada");
    const name = unique("sales");
    await scenario(name, [{ content: validAnswer, chunkSize: 7 }]);
    const { sessionId } = await sessionOn(ada, name);
    const { events } = await readSse(await analyse(ada, sessionId));
    const analysis = await getAnalysis(ada.token, dataOf<{ analysisId: string }>(events.at(-1)!).analysisId);
    expect(analysis.charts.map((chart) => chart.dataKeys)).toEqual([["date", "units"]]);
    expect(analysis.insights[1]!.columns).toEqual(["units", "revenue"]);
  });

  it("repairs a malformed answer by asking once more", async () => {
    const ada = await person("ada");
    const name = unique("sales");
    await scenario(name, [{ content: "Sure! Here is my analysis: {not json" }, { content: validAnswer }]);
    const { sessionId } = await sessionOn(ada, name);
    const { events } = await readSse(await analyse(ada, sessionId));
    // A store still loading adds a waiting_for_store status first; the model's part is running, then repairing.
    const statuses = events.filter((event) => event.event === "status").map((event) => dataOf<{ status: string }>(event).status);
    expect(statuses.filter((status) => status !== "waiting_for_store")).toEqual(["running", "repairing"]);
    expect(events.at(-1)!.event).toBe("done");
    const requests = await stubRequests(name);
    expect(requests).toHaveLength(2);
    expect(requests[1]!.messages.at(-1)!.content).toContain("not valid");
  });

  it("reports malformed output twice as an error event and a failed analysis with no charts", async () => {
    const ada = await person("ada");
    const name = unique("sales");
    await scenario(name, [{ content: '{"summary": 42' }]);
    const { sessionId } = await sessionOn(ada, name);
    const { events } = await readSse(await analyse(ada, sessionId));
    const error = events.at(-1)!;
    expect(error.event).toBe("problem");
    const problem = dataOf<{ code: string; status: number; analysisId: string }>(error);
    expect(problem).toMatchObject({ code: "MODEL_OUTPUT_INVALID", status: 502 });
    const analysis = await getAnalysis(ada.token, problem.analysisId);
    expect(analysis).toMatchObject({ status: "failed", summary: null, charts: [], insights: [], error: { code: "MODEL_OUTPUT_INVALID" } });
  });

  it("cuts off a model that stalls: an error event, a failed analysis, nothing half-saved", async () => {
    const ada = await person("ada");
    const name = unique("sales");
    await scenario(name, [{ stall: true, afterChunks: 3 }]);
    const { sessionId } = await sessionOn(ada, name);
    const { events, comments } = await readSse(await analyse(ada, sessionId));
    const problem = dataOf<{ code: string; analysisId: string }>(events.at(-1)!);
    expect(events.at(-1)!.event).toBe("problem");
    expect(problem.code).toBe("MODEL_TIMEOUT");
    expect(comments).toBeGreaterThan(0); // heartbeats (every second here) while the model said nothing
    const analysis = await getAnalysis(ada.token, problem.analysisId);
    expect(analysis).toMatchObject({ status: "failed", summary: null, insights: [], charts: [] });
    expect((await stubRequests(name))[0]!.outcome).toBe("client-closed");
  });

  it("retries a 429 from the model and succeeds", async () => {
    const ada = await person("ada");
    const name = unique("sales");
    await scenario(name, [{ status: 429, retryAfterMs: 50 }, { content: validAnswer }]);
    const { sessionId } = await sessionOn(ada, name);
    const { events } = await readSse(await analyse(ada, sessionId));
    expect(events.at(-1)!.event).toBe("done");
    expect(await stubRequests(name)).toHaveLength(2);
  });

  it("answers from the statistical engine when asked, labelled as such, without calling the model", async () => {
    const ada = await person("ada");
    const name = unique("sales");
    const { sessionId } = await sessionOn(ada, name);
    const { events } = await readSse(await analyse(ada, sessionId, { engine: "statistical" }));
    expect(dataOf<{ engine: string }>(events[0]!).engine).toBe("statistical");
    const analysis = await getAnalysis(ada.token, dataOf<{ analysisId: string }>(events.at(-1)!).analysisId);
    expect(analysis).toMatchObject({ status: "succeeded", engine: "statistical", model: null });
    expect(analysis.insights.some((insight) => insight.columns.includes("units"))).toBe(true);
    expect(await stubRequests(name)).toHaveLength(0);
  });
});

describe("queued analyses", () => {
  it("answers 202 with Location and runs the job on the queue", async () => {
    const ada = await person("ada");
    const { sessionId } = await sessionOn(ada, unique("sales"));
    const response = await call(`/api/v1/sessions/${sessionId}/analyses`, { method: "POST", token: ada.token, body: {} });
    const queued = await json<Analysis>(response, 202);
    expect(response.headers.get("Location")).toBe(`/api/v1/analyses/${queued.id}`);
    expect(queued).toMatchObject({ status: "queued", mode: "queue" });
    const finished = await until(
      () => getAnalysis(ada.token, queued.id),
      (analysis) => analysis.status === "succeeded" || analysis.status === "failed",
    );
    expect(finished).toMatchObject({ status: "succeeded", attempts: 1 });
    expect(finished.charts.length).toBeGreaterThan(0);
  });

  it("queues a stream request that says Prefer: respond-async", async () => {
    const ada = await person("ada");
    const { sessionId } = await sessionOn(ada, unique("sales"));
    const response = await analyse(ada, sessionId, { engine: "statistical" }, { Prefer: "respond-async" });
    expect((await json<Analysis>(response, 202)).mode).toBe("queue");
  });

  it("runs a message delivered three times once: one analysis, one set of charts", async () => {
    const ada = await person("ada");
    const name = unique("sales");
    await scenario(name, [{ content: validAnswer, chunkSize: 50, delayMs: 20 }]);
    const { sessionId } = await sessionOn(ada, name);
    const queued = await json<Analysis>(
      await call(`/api/v1/sessions/${sessionId}/analyses`, { method: "POST", token: ada.token, body: {} }),
      202,
    );
    // The real queue delivers it once; here it arrives twice more, at the same time.
    const deliveries = [1, 2].map(async (n) => {
      const batch = createMessageBatch("datacrafted-analyses", [
        { id: `dup-${n}-${queued.id}`, timestamp: new Date(), attempts: 1, body: { analysisId: queued.id } },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      return getQueueResult(batch, ctx);
    });
    for (const result of await Promise.all(deliveries)) expect(result.retryMessages).toEqual([]);
    const finished = await until(
      () => getAnalysis(ada.token, queued.id),
      (analysis) => analysis.status === "succeeded",
    );
    expect(finished).toMatchObject({ status: "succeeded", attempts: 1 });
    expect(finished.charts).toHaveLength(1);
    expect(await stubRequests(name)).toHaveLength(1);
  });

  it("retries a failing job with backoff, then the dead-letter queue records it as failed", async () => {
    const ada = await person("ada");
    const name = unique("sales");
    await scenario(name, [{ status: 500 }]);
    const { sessionId } = await sessionOn(ada, name);
    const queued = await json<Analysis>(
      await call(`/api/v1/sessions/${sessionId}/analyses`, { method: "POST", token: ada.token, body: {} }),
      202,
    );
    // The real delivery fails and goes back to the queue with its error on record.
    const retried = await until(
      () => getAnalysis(ada.token, queued.id),
      (analysis) => analysis.error !== null,
    );
    expect(retried).toMatchObject({ status: "queued", attempts: 1, error: { code: "MODEL_ERROR" } });

    const batch = createMessageBatch("datacrafted-analyses-dlq", [
      { id: `dlq-${queued.id}`, timestamp: new Date(), attempts: 1, body: { analysisId: queued.id } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual([`dlq-${queued.id}`]);
    const failed = await getAnalysis(ada.token, queued.id);
    expect(failed).toMatchObject({ status: "failed", error: { code: "MODEL_ERROR" }, charts: [] });
  });

  it("drops a malformed message without retrying it", async () => {
    const batch = createMessageBatch("datacrafted-analyses", [
      { id: "bad-1", timestamp: new Date(), attempts: 1, body: { analysisId: "not-a-uuid" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["bad-1"]);
    expect(result.retryMessages).toEqual([]);
  });
});

describe("bad input and tenancy", () => {
  it("refuses invalid bodies, unknown sessions and another tenant's session and analysis", async () => {
    const ada = await person("ada");
    const eve = await person("eve");
    const { sessionId } = await sessionOn(ada, unique("sales"));
    await expectProblem(await analyse(ada, sessionId, { engine: "gpt" }), 400, "VALIDATION_FAILED");
    await expectProblem(await analyse(ada, sessionId, { question: "" }), 400, "VALIDATION_FAILED");
    await expectProblem(await analyse(ada, sessionId, { extra: 1 }), 400, "VALIDATION_FAILED");
    await expectProblem(await analyse(ada, crypto.randomUUID()), 404, "NOT_FOUND");
    await expectProblem(await analyse(ada, "nope"), 400, "VALIDATION_FAILED");
    await expectProblem(await analyse(eve, sessionId), 404, "NOT_FOUND");

    const { events } = await readSse(await analyse(ada, sessionId, { engine: "statistical" }));
    const analysisId = dataOf<{ analysisId: string }>(events.at(-1)!).analysisId;
    await expectProblem(await call(`/api/v1/analyses/${analysisId}`, { token: eve.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/sessions/${sessionId}/analyses`, { token: eve.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/analyses/${analysisId}`), 401, "UNAUTHORIZED");
    const list = await json<{ data: Analysis[] }>(await call(`/api/v1/sessions/${sessionId}/analyses`, { token: ada.token }), 200);
    expect(list.data.map((analysis) => analysis.id)).toContain(analysisId);
  });

  it("refuses to analyse a session whose dataset was deleted", async () => {
    const ada = await person("ada");
    const { sessionId, datasetId } = await sessionOn(ada, unique("sales"));
    expect((await call(`/api/v1/datasets/${datasetId}`, { method: "DELETE", token: ada.token })).status).toBe(204);
    await expectProblem(await analyse(ada, sessionId), 409, "CONFLICT");
  });
});
