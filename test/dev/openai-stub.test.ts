// The OpenAI stub over real HTTP from workerd: the wire format the SDK reads, the default answers, and every scenario step.
import OpenAI, { type APIError, BadRequestError } from "openai";
import { describe, expect, inject, it } from "vitest";
import { PlannedResult as AnalysisResult } from "../../src/services/analysis/result.ts";

const base = inject("openaiStub");
const control = base.replace(/\/v1$/, "");
const key = { authorization: "Bearer sk-test-stub", "content-type": "application/json" };
/** A match string no other test (or parallel file) can contain. */
const unique = (label: string) => `${label}-${crypto.randomUUID()}`;

interface Chunk {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: { index: number; delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

function complete(body: Record<string, unknown>, init: { headers?: Record<string, string>; url?: string; signal?: AbortSignal } = {}) {
  return fetch(`${init.url ?? base}/chat/completions`, {
    method: "POST",
    headers: init.headers ?? key,
    body: JSON.stringify({ model: "gpt-4o-mini", ...body }),
    signal: init.signal,
  });
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ messages: [{ role: "user", content }], ...extra });

async function scenario(match: string, responses: unknown[]) {
  const res = await fetch(`${control}/_stub/scenarios`, { method: "POST", body: JSON.stringify({ match, responses }) });
  expect(res.status).toBe(201);
}

async function requests(match: string): Promise<{ count: number; requests: Record<string, unknown>[] }> {
  return (await fetch(`${control}/_stub/requests?match=${encodeURIComponent(match)}`)).json();
}

/** Splits an SSE body into its data payloads, checking every event is a lone `data:` line ended by a blank line. */
function sse(text: string): { chunks: Chunk[]; done: boolean } {
  expect(text.endsWith("\n\n")).toBe(true);
  const datas = text
    .slice(0, -2)
    .split("\n\n")
    .map((event) => {
      expect(event).toMatch(/^data: [^\n]+$/);
      return event.slice("data: ".length);
    });
  const done = datas.at(-1) === "[DONE]";
  return { chunks: (done ? datas.slice(0, -1) : datas).map((data) => JSON.parse(data) as Chunk), done };
}

const contentOf = (chunks: Chunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
const contentChunks = (chunks: Chunk[]) => chunks.filter((c) => c.choices[0]?.delta.content);

/** Reads a body until it ends or breaks, without throwing: what a dropped or stalled stream has delivered. */
async function readUntilBroken(res: Response, giveUpAfterMs: number): Promise<{ text: string; ended: "done" | "error" | "timeout" }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + giveUpAfterMs;
  for (;;) {
    const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now())));
    const next = await Promise.race([reader.read().catch(() => "error" as const), timeout]);
    if (next === "timeout") {
      await reader.cancel().catch(() => {});
      return { text, ended: "timeout" };
    }
    if (next === "error") return { text, ended: "error" };
    if (next.done) return { text, ended: "done" };
    text += decoder.decode(next.value, { stream: true });
  }
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const profilePrompt = JSON.stringify({
  rowCount: 1200,
  columns: [
    { name: "region", type: "string", count: 1200, nulls: 0 },
    { name: "revenue", type: "number", count: 1200, nulls: 3 },
    { name: "order_date", type: "datetime", count: 1200, nulls: 0 },
  ],
});

describe("OpenAI stub: wire format", () => {
  it("streams chat.completion.chunk events, a finish reason, then [DONE]", async () => {
    const res = await complete(chat("What is the average revenue per region in March?", { stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    const { chunks, done } = sse(await res.text());
    expect(done).toBe(true);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c).toMatchObject({ object: "chat.completion.chunk", model: "gpt-4o-mini", id: chunks[0]!.id });
      expect(c.id).toMatch(/^chatcmpl-/);
      expect(Number.isInteger(c.created)).toBe(true);
      expect(c).not.toHaveProperty("usage");
      expect(c.choices).toHaveLength(1);
    }
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(chunks.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
    expect(chunks.at(-1)!.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: "stop" });
    // Plain chat (no response_format) quotes the question, so a test can tell which turn it answers.
    expect(contentOf(chunks)).toContain('"What is the average revenue per region in');
  });

  it("adds a usage chunk (no choices) before [DONE] when stream_options.include_usage is set", async () => {
    const question = "Summarise the dataset in one sentence please";
    const res = await complete({
      messages: [
        { role: "system", content: "You are a data analyst." },
        { role: "user", content: question },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
    const { chunks, done } = sse(await res.text());
    expect(done).toBe(true);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const content = contentOf(chunks);
    const prompt = "You are a data analyst.\n" + question;
    expect(last.usage).toEqual({
      prompt_tokens: Math.ceil(prompt.length / 4),
      completion_tokens: Math.ceil(content.length / 4),
      total_tokens: Math.ceil(prompt.length / 4) + Math.ceil(content.length / 4),
    });
    // As OpenAI does: every other chunk carries usage: null.
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it("answers a non-streamed request with a chat.completion object, also on a base URL without /v1", async () => {
    for (const url of [base, control]) {
      const res = await complete(chat("Which column has the most nulls?"), { url });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json");
      const body = (await res.json()) as Record<string, any>;
      expect(body).toMatchObject({
        object: "chat.completion",
        model: "gpt-4o-mini",
        choices: [{ index: 0, message: { role: "assistant", refusal: null }, finish_reason: "stop" }],
      });
      expect(body.id).toMatch(/^chatcmpl-/);
      expect(body.choices[0].message.content).toContain('"Which column has the most nulls?"');
      expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
      expect(body.usage.completion_tokens).toBe(Math.ceil(body.choices[0].message.content.length / 4));
    }
  });

  it("rejects a request without a bearer key (401) and one without a model (400), in OpenAI's error shape", async () => {
    for (const headers of [
      { "content-type": "application/json" },
      { ...key, authorization: "Bearer " },
      { ...key, authorization: "Basic abc" },
    ]) {
      const res = await complete(chat("hello"), { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: { message: expect.stringContaining("API key"), type: "invalid_request_error", param: null, code: null },
      });
    }
    const noModel = await fetch(`${base}/chat/completions`, { method: "POST", headers: key, body: JSON.stringify(chat("hi")) });
    expect(noModel.status).toBe(400);
    expect(await noModel.json()).toEqual({
      error: { message: "you must provide a model parameter", type: "invalid_request_error", param: "model", code: null },
    });
    const notJson = await fetch(`${base}/chat/completions`, { method: "POST", headers: key, body: "{" });
    expect(notJson.status).toBe(400);
    const unknown = await fetch(`${base}/embeddingz`, { method: "POST", headers: key, body: "{}" });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.message).toBe("Invalid URL (POST /v1/embeddingz)");
  });

  it("lists models", async () => {
    const res = await fetch(`${base}/models`, { headers: key });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; data: { id: string; object: string }[] };
    expect(body.object).toBe("list");
    expect(body.data).toContainEqual(expect.objectContaining({ id: "gpt-4o-mini", object: "model" }));
    expect((await fetch(`${base}/models`)).status).toBe(401);
  });
});

describe("OpenAI stub: default analysis JSON", () => {
  it("streams a valid AnalysisResult about the prompt's columns, in small chunks", async () => {
    const res = await complete({
      messages: [
        { role: "system", content: "Answer with JSON: summary, insights, charts." },
        { role: "user", content: `Dataset profile:\n${profilePrompt}` },
      ],
      stream: true,
      response_format: { type: "json_object" },
    });
    const { chunks, done } = sse(await res.text());
    expect(done).toBe(true);
    const pieces = contentChunks(chunks).map((c) => c.choices[0]!.delta.content!);
    expect(pieces.length).toBeGreaterThan(10);
    expect(pieces.slice(0, -1).every((p) => p.length >= 8 && p.length <= 20)).toBe(true);
    const result = AnalysisResult.parse(JSON.parse(pieces.join("")));
    expect(result.insights.length).toBeGreaterThanOrEqual(2);
    expect(result.insights.length).toBeLessThanOrEqual(3);
    expect(result.charts.length).toBeGreaterThanOrEqual(1);
    expect(result.charts.length).toBeLessThanOrEqual(2);
    const columns = ["region", "revenue", "order_date"];
    for (const chart of result.charts) expect(columns).toContain(chart.spec.encoding.x!.field);
    // A datetime column makes the first chart a time series.
    expect(result.charts[0]).toMatchObject({
      type: "line",
      spec: { encoding: { x: { field: "order_date", type: "temporal", timeUnit: "month" }, y: { field: "revenue", aggregate: "mean" } } },
    });
  });

  it("finds columns listed as text, and falls back to generic names (still valid) when there are none", async () => {
    const listed = await complete({
      messages: [{ role: "user", content: "Columns:\n- city (string)\n- temperature (number)\nAnalyse this." }],
      response_format: { type: "json_schema", json_schema: { name: "analysis", schema: { type: "object" } } },
    });
    const fromText = AnalysisResult.parse(JSON.parse(((await listed.json()) as any).choices[0].message.content));
    expect(fromText.charts[0]).toMatchObject({
      type: "bar",
      spec: { encoding: { x: { field: "city" }, y: { field: "temperature", aggregate: "sum" } } },
    });

    const bare = await complete({
      messages: [{ role: "user", content: "Analyse my data." }],
      stream: true,
      response_format: { type: "json_object" },
    });
    const generic = AnalysisResult.parse(JSON.parse(contentOf(sse(await bare.text()).chunks)));
    expect([generic.charts[0]!.spec.encoding.x!.field, generic.charts[0]!.spec.encoding.y!.field]).toEqual(["category", "value"]);
  });
});

describe("OpenAI stub: scenarios", () => {
  it("plays content steps in order (exact text, chunk size, delay), repeats the last, and logs each request", async () => {
    const match = unique("content");
    await scenario(match, [
      { content: "first answer, héllo ✓", chunkSize: 4 },
      { content: "second", delayMs: 60, chunkSize: 2 },
    ]);
    const first = sse(await (await complete(chat(`${match} go`, { stream: true }))).text());
    expect(contentOf(first.chunks)).toBe("first answer, héllo ✓");
    expect(contentChunks(first.chunks).map((c) => c.choices[0]!.delta.content)).toEqual(["firs", "t an", "swer", ", hé", "llo ", "✓"]);

    const started = Date.now();
    const second = sse(await (await complete(chat(`${match} again`, { stream: true }))).text());
    expect(contentOf(second.chunks)).toBe("second");
    // Three chunks, two gaps of 60 ms between them.
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);

    const third = (await (await complete(chat(`once more ${match}`))).json()) as any;
    expect(third.choices[0].message.content).toBe("second");

    const log = await requests(match);
    expect(log.count).toBe(3);
    expect(log.requests.map((r) => [r.stream, r.step, r.answer, r.outcome])).toEqual([
      [true, 0, "content", "completed"],
      [true, 1, "content", "completed"],
      [false, 1, "content", "completed"],
    ]);
    expect(log.requests[0]).toMatchObject({ model: "gpt-4o-mini", scenario: match, messages: [{ role: "user", content: `${match} go` }] });
    expect(log.requests[0]!.headers).not.toHaveProperty("authorization");
  });

  it("matches any role's message, and leaves requests without the match (and other scenarios) alone", async () => {
    const a = unique("iso-a");
    const b = unique("iso-b");
    await scenario(a, [{ content: "answer A" }]);
    await scenario(b, [{ content: "answer B" }]);
    const [ra, rb, rn] = await Promise.all([
      complete({
        messages: [
          { role: "system", content: `context ${a}` },
          { role: "user", content: "q" },
        ],
      }),
      complete({ messages: [{ role: "user", content: [{ type: "text", text: `parts ${b}` }] }] }),
      complete(chat("nothing scripted here")),
    ]);
    expect(((await ra.json()) as any).choices[0].message.content).toBe("answer A");
    expect(((await rb.json()) as any).choices[0].message.content).toBe("answer B");
    expect(((await rn.json()) as any).choices[0].message.content).toContain("nothing scripted here");
    expect((await requests(a)).count).toBe(1);
    expect((await requests(b)).requests[0]).toMatchObject({ scenario: b, answer: "content" });
  });

  it("answers error steps in OpenAI's shape with retry headers, then recovers (a retry sequence)", async () => {
    const match = unique("errors");
    await scenario(match, [
      { status: 429, retryAfterSeconds: 2 },
      { status: 429, retryAfterMs: 150 },
      { status: 500 },
      { status: 503, message: "Overloaded, try later" },
      { status: 400, message: "Invalid 'messages'", code: "invalid_value" },
      { content: "finally" },
    ]);
    const send = () => complete(chat(`${match} retry me`, { stream: true, response_format: { type: "json_object" } }));

    const limited = await send();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("2");
    expect(limited.headers.get("retry-after-ms")).toBe("2000");
    expect(await limited.json()).toEqual({
      error: { message: expect.any(String), type: "requests", param: null, code: "rate_limit_exceeded" },
    });
    const limitedMs = await send();
    expect([limitedMs.headers.get("retry-after"), limitedMs.headers.get("retry-after-ms")]).toEqual(["1", "150"]);
    await limitedMs.body?.cancel();

    const failed = await send();
    expect(failed.status).toBe(500);
    expect(((await failed.json()) as any).error).toMatchObject({ type: "server_error", code: null });
    const overloaded = await send();
    expect(overloaded.status).toBe(503);
    expect(((await overloaded.json()) as any).error.message).toBe("Overloaded, try later");
    const bad = await send();
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toEqual({
      message: "Invalid 'messages'",
      type: "invalid_request_error",
      param: null,
      code: "invalid_value",
    });

    const ok = await send();
    expect(ok.status).toBe(200);
    expect(contentOf(sse(await ok.text()).chunks)).toBe("finally");

    const log = await requests(match);
    expect(log.requests.map((r) => r.answer)).toEqual(["error", "error", "error", "error", "error", "content"]);
    expect(log.requests[0]).toMatchObject({ stream: true, response_format: { type: "json_object" } });
  });

  it("stalls after N chunks without finishing, and records when the client gives up", async () => {
    const match = unique("stall");
    await scenario(match, [{ stall: true, afterChunks: 2 }]);
    const res = await complete(chat(`${match} stall now`, { stream: true }));
    expect(res.status).toBe(200);
    const { text, ended } = await readUntilBroken(res, 400);
    expect(ended).toBe("timeout");
    const { chunks, done } = sse(text);
    expect(done).toBe(false);
    expect(contentChunks(chunks)).toHaveLength(2);
    expect(chunks.every((c) => c.choices[0]!.finish_reason === null)).toBe(true);

    const log = await eventually(
      () => requests(match),
      (l) => l.requests[0]?.outcome === "client-closed",
    );
    expect(log.requests[0]).toMatchObject({ answer: "stall", outcome: "client-closed" });
  });

  it("stalls before the headers when asked (a client timeout fires)", async () => {
    const match = unique("stall-headers");
    await scenario(match, [{ stall: true, beforeHeaders: true }]);
    const started = Date.now();
    await expect(complete(chat(`${match} hello`), { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await requests(match)).requests[0]).toMatchObject({ answer: "stall", stream: false });
  });

  it("writes a raw step's bytes verbatim (malformed streams)", async () => {
    const match = unique("raw");
    const raw = 'data: {"id":"x","object":"chat.completion.chunk","choices":[{"delta":{"content":"ok"}}]}\n\ndata: {not json\n\n';
    await scenario(match, [{ raw }, { raw: "{truncated", contentType: "application/json" }]);
    const res = await complete(chat(`${match} raw`, { stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(await res.text()).toBe(raw);
    const plain = await complete(chat(`${match} raw`));
    expect(plain.headers.get("content-type")).toBe("application/json");
    expect(await plain.text()).toBe("{truncated");
  });

  it("drops the connection after N chunks", async () => {
    const match = unique("drop");
    await scenario(match, [{ dropAfterChunks: 3 }]);
    const res = await complete(chat(`${match} drop`, { stream: true }));
    expect(res.status).toBe(200);
    const { text, ended } = await readUntilBroken(res, 5_000);
    // A chunked body cut short is a network error to the reader, never a clean end.
    expect(ended).toBe("error");
    const { chunks, done } = sse(text);
    expect(done).toBe(false);
    expect(contentChunks(chunks)).toHaveLength(3);
    expect((await requests(match)).requests[0]).toMatchObject({ answer: "drop", outcome: "dropped" });
  });

  it("clears one scenario, and validates new ones", async () => {
    const match = unique("clear");
    await scenario(match, [{ content: "scripted" }]);
    const del = await fetch(`${control}/_stub/scenarios?match=${encodeURIComponent(match)}`, { method: "DELETE" });
    expect(await del.json()).toEqual({ deleted: true });
    const after = (await (await complete(chat(`${match} now`))).json()) as any;
    expect(after.choices[0].message.content).not.toBe("scripted");
    expect((await requests(match)).requests[0]).toMatchObject({ scenario: null, answer: "default" });

    expect((await fetch(`${control}/_stub/scenarios`, { method: "DELETE" })).status).toBe(400);
    for (const body of [
      { match, responses: [] },
      { match, responses: [{ content: "x", status: 500 }] },
      { responses: [{ content: "x" }] },
    ]) {
      const res = await fetch(`${control}/_stub/scenarios`, { method: "POST", body: JSON.stringify(body) });
      expect(res.status).toBe(400);
    }
  });
});

// The API's own client: proves the stub's format is what the SDK parses, its errors what it classifies, its headers what it retries on.
describe("OpenAI stub with the openai SDK", () => {
  const client = new OpenAI({ apiKey: "sk-test-stub", baseURL: base, maxRetries: 2, timeout: 5_000 });

  it("streams a completion with usage", async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "How many rows are there?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null = null;
    for await (const c of stream) {
      content += c.choices[0]?.delta.content ?? "";
      finish = c.choices[0]?.finish_reason ?? finish;
      usage = c.usage ?? usage;
    }
    expect(content).toContain('"How many rows are there?"');
    expect(finish).toBe("stop");
    expect(usage?.completion_tokens).toBe(Math.ceil(content.length / 4));
  });

  it("reads a non-streamed JSON analysis", async () => {
    const completion = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: profilePrompt }],
      response_format: { type: "json_object" },
    });
    expect(AnalysisResult.parse(JSON.parse(completion.choices[0]!.message.content!)).charts.length).toBeGreaterThan(0);
  });

  it("retries a 429 after retry-after-ms and raises typed errors", async () => {
    const match = unique("sdk-retry");
    await scenario(match, [{ status: 429, retryAfterMs: 20 }, { content: "after retry" }]);
    const completion = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: match }] });
    expect(completion.choices[0]!.message.content).toBe("after retry");
    const log = await requests(match);
    expect(log.requests.map((r) => (r.headers as Record<string, string>)["x-stainless-retry-count"])).toEqual(["0", "1"]);

    const failing = unique("sdk-400");
    await scenario(failing, [{ status: 400, message: "bad prompt", code: "invalid_value" }]);
    const error = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: failing }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, code: "invalid_value", type: "invalid_request_error" });
    expect((error as APIError).requestID).toMatch(/^req_/);
    expect((await requests(failing)).count).toBe(1);
  });
});

// Tool calling on the wire: the SDK's own stream helper assembles what the stub sends, so the fragments are in OpenAI's shape.
describe("OpenAI stub: tool calls", () => {
  const client = new OpenAI({ apiKey: "sk-test-stub", baseURL: base, maxRetries: 0, timeout: 5_000 });
  const tools: OpenAI.ChatCompletionTool[] = [
    { type: "function", function: { name: "query_dataset", parameters: { type: "object", properties: { sql: { type: "string" } } } } },
  ];

  it("streams tool_calls deltas (index, id, name, argument fragments) with finish_reason tool_calls, which the SDK assembles", async () => {
    const match = unique("tools-stream");
    const sql = "SELECT region, avg(units) FROM dataset GROUP BY region";
    await scenario(match, [
      {
        toolCalls: [
          { id: "call_a", name: "query_dataset", arguments: { sql } },
          { name: "chart", arguments: '{"spec":{' },
        ],
        chunkSize: 7,
      },
    ]);
    const stream = client.chat.completions.stream({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: match }],
      tools,
      stream_options: { include_usage: true },
    });
    const fragments: { index: number; id?: string; name?: string; arguments?: string }[] = [];
    stream.on("chunk", (chunk) => {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? [])
        fragments.push({ index: call.index, id: call.id, name: call.function?.name, arguments: call.function?.arguments });
    });
    const completion = await stream.finalChatCompletion();
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const calls = choice.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
    expect(calls.map((call) => [call.type, call.function.name, call.function.arguments])).toEqual([
      ["function", "query_dataset", JSON.stringify({ sql })],
      ["function", "chart", '{"spec":{'],
    ]);
    expect(calls[0]!.id).toBe("call_a");
    expect(calls[1]!.id).toMatch(/^call_/);
    // The first fragment of each call names it; the rest carry only argument pieces of at most the chunk size.
    expect(fragments.filter((f) => f.name !== undefined).map((f) => [f.index, f.name, f.arguments])).toEqual([
      [0, "query_dataset", ""],
      [1, "chart", ""],
    ]);
    const pieces = fragments.filter((f) => f.name === undefined);
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.every((f) => f.id === undefined && f.arguments!.length <= 7)).toBe(true);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("answers a non-streamed request with message.tool_calls", async () => {
    const match = unique("tools-json");
    await scenario(match, [{ toolCalls: [{ id: "call_b", name: "query_dataset", arguments: { sql: "SELECT 1" } }] }]);
    const completion = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: match }], tools });
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls");
    expect(completion.choices[0]!.message).toMatchObject({
      content: null,
      tool_calls: [{ id: "call_b", type: "function", function: { name: "query_dataset", arguments: '{"sql":"SELECT 1"}' } }],
    });
  });

  it("takes tool messages answering each call in the next request, logs them, and refuses a sequence OpenAI would refuse", async () => {
    const match = unique("tools-followup");
    await scenario(match, [{ content: "Done." }]);
    const assistant = {
      role: "assistant" as const,
      content: null,
      tool_calls: [{ id: "call_c", type: "function" as const, function: { name: "query_dataset", arguments: "{}" } }],
    };
    const ok = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: match }, assistant, { role: "tool", tool_call_id: "call_c", content: '{"rows":[[1]]}' }],
      tools,
    });
    expect(ok.choices[0]!.message.content).toBe("Done.");
    const [logged] = (await requests(match)).requests;
    expect((logged!.messages as { role: string; tool_call_id?: string }[]).map((m) => [m.role, m.tool_call_id])).toEqual([
      ["user", undefined],
      ["assistant", undefined],
      ["tool", "call_c"],
    ]);
    expect(logged!.tools).toEqual(tools);

    const unanswered = await complete(chat(match, { messages: [{ role: "user", content: match }, assistant] }));
    expect(unanswered.status).toBe(400);
    expect(((await unanswered.json()) as { error: { message: string } }).error.message).toContain("call_c");
    const stray = await complete({
      messages: [
        { role: "user", content: match },
        { role: "tool", tool_call_id: "call_z", content: "{}" },
      ],
    });
    expect(stray.status).toBe(400);
  });
});
