// Chat through the Worker (integration via SELF) against the stub model and the real database: streamed and JSON turns, context, the statistical engine, turn order, failures, validation, the transcript, tenancy.
import { describe, expect, it } from "vitest";
import { call, json, person, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { eventually } from "../../support/eventually.ts";
import { analyse, dataOf, parseSse, readSse, scenario, sessionOn, type SseEvent, stubRequests } from "../../support/analysis.ts";

interface Message {
  id: string;
  sessionId: string;
  role: "user" | "assistant";
  content: string;
  engine: string | null;
  model: string | null;
  createdAt: string;
}
interface Page {
  data: Message[];
  nextCursor: string | null;
}

const unique = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}`;

const chat = (who: Person, sessionId: string, body: Record<string, unknown>, stream = false) =>
  call(`/api/v1/sessions/${sessionId}/chat`, {
    method: "POST",
    token: who.token,
    body,
    headers: stream ? { Accept: "text/event-stream" } : {},
  });

const transcript = async (who: Person, sessionId: string) =>
  (await json<Page>(await call(`/api/v1/sessions/${sessionId}/messages?limit=100`, { token: who.token }), 200)).data;

/** Reads an event stream step by step: `until` returns once the events so far satisfy it, leaving the rest to read. */
function sseReader(response: Response) {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  return {
    async until(done: (events: SseEvent[]) => boolean) {
      while (!done(parseSse(text.slice(0, text.lastIndexOf("\n\n") + 2)).events)) {
        const next = await reader.read();
        if (next.done) break;
        text += next.value;
      }
      return parseSse(text.slice(0, text.lastIndexOf("\n\n") + 2));
    },
  };
}

const ended = (events: SseEvent[]) => events.some((event) => event.event === "done" || event.event === "problem");
const deltas = (events: SseEvent[]) =>
  events
    .filter((event) => event.event === "delta")
    .map((event) => dataOf<{ text: string }>(event).text)
    .join("");

describe("POST /sessions/{id}/chat (integration, SELF)", () => {
  it("streams a turn as status, deltas and done, then the transcript shows the question and the answer in order", async () => {
    const ada = await person("chat-sse");
    const { sessionId } = await sessionOn(ada, "sales");
    const marker = unique("stream");
    const answer = "Units rise steadily; revenue follows them closely.";
    await scenario(marker, [{ content: answer, chunkSize: 6 }]);

    const response = await chat(ada, sessionId, { message: `  How do units move? ${marker}  ` }, true);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    const { events } = await readSse(response, ended);
    expect(events[0]).toMatchObject({ event: "status" });
    expect(dataOf(events[0]!)).toEqual({ status: "answering", engine: "openai", model: expect.any(String) });
    expect(events.filter((event) => event.event === "delta").length).toBeGreaterThan(1);
    expect(deltas(events)).toBe(answer);
    const done = dataOf<{
      messageId: string;
      userMessageId: string;
      engine: string;
      model: string;
      usage: { promptTokens: number; completionTokens: number };
    }>(events.at(-1)!);
    expect(events.at(-1)!.event).toBe("done");
    expect(done).toMatchObject({ engine: "openai", usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number) } });
    expect(done.usage.promptTokens).toBeGreaterThan(0);

    const messages = await transcript(ada, sessionId);
    expect(messages.map((m) => [m.id, m.role, m.content])).toEqual([
      [done.userMessageId, "user", `How do units move? ${marker}`],
      [done.messageId, "assistant", answer],
    ]);
    expect(messages[1]).toMatchObject({ engine: "openai", model: done.model, sessionId });
    expect(Date.parse(messages[1]!.createdAt)).toBeGreaterThan(Date.parse(messages[0]!.createdAt));
  });

  it("answers as 201 JSON without an event stream", async () => {
    const ada = await person("chat-json");
    const { sessionId } = await sessionOn(ada, "sales");
    const marker = unique("json");
    await scenario(marker, [{ content: "Plain answer." }]);
    const reply = await json<Message & { userMessageId: string; usage: { completionTokens: number } }>(
      await chat(ada, sessionId, { message: `Hello ${marker}` }),
      201,
    );
    expect(reply).toMatchObject({
      role: "assistant",
      content: "Plain answer.",
      engine: "openai",
      sessionId,
      userMessageId: expect.any(String),
    });
    expect(reply.usage.completionTokens).toBeGreaterThan(0);
    expect((await transcript(ada, sessionId)).map((m) => m.id)).toEqual([reply.userMessageId, reply.id]);
  });

  it("gives the model the profile, the sample, the latest analysis and the earlier conversation", async () => {
    const ada = await person("chat-context");
    const { sessionId } = await sessionOn(ada, "regional-sales");
    const analysis = await readSse(await analyse(ada, sessionId, { engine: "statistical" }), ended);
    const analysisId = dataOf<{ analysisId: string }>(analysis.events.find((event) => event.event === "done")!).analysisId;
    const { summary, insights } = await json<{ summary: string; insights: { title: string }[] }>(
      await call(`/api/v1/analyses/${analysisId}`, { token: ada.token }),
      200,
    );

    const first = unique("first");
    await scenario(first, [{ content: `Earlier answer ${first}-reply` }]);
    await json(await chat(ada, sessionId, { message: `Which region sells most? ${first}` }), 201);
    const second = unique("second");
    await json(await chat(ada, sessionId, { message: `And over time? ${second}` }), 201);

    const [request] = await stubRequests(second);
    const messages = request!.messages;
    expect(messages[0]!.role).toBe("system");
    const system = messages[0]!.content;
    expect(system).toContain('Dataset "regional-sales": 60 rows, 5 columns');
    for (const column of ["date", "region", "units", "revenue"]) expect(system).toContain(`"name":"${column}"`);
    expect(system).toContain("Sample rows:");
    expect(system).toContain(summary);
    expect(system).toContain(insights[0]!.title);
    expect(messages.slice(1)).toEqual([
      { role: "user", content: `Which region sells most? ${first}` },
      { role: "assistant", content: `Earlier answer ${first}-reply` },
      { role: "user", content: `And over time? ${second}` },
    ]);
  });

  it("answers with the statistical engine from the profile: named columns, or an overview", async () => {
    const ada = await person("chat-stat");
    const { sessionId } = await sessionOn(ada, "sales");
    const about = await json<Message>(
      await chat(ada, sessionId, { message: "Tell me about Units and the REGION column", engine: "statistical" }),
      201,
    );
    expect(about).toMatchObject({ role: "assistant", engine: "statistical", model: null });
    expect(about.content).toContain("**units** (integer): 60 values, 0 missing");
    expect(about.content).toMatch(/ranges from 10 to \d+; mean [\d.]+, median about [\d.]+/);
    expect(about.content).toContain("**region** (string)");
    expect(about.content).toMatch(/Most common: (north|south|east) \(20\)/);
    expect(about.content.indexOf("**units**")).toBeLessThan(about.content.indexOf("**region**"));
    expect(about.content).not.toContain("**revenue**");

    const overview = await json<Message>(await chat(ada, sessionId, { message: "What is in here?", engine: "statistical" }), 201);
    expect(overview.content).toContain(
      '"sales" has 60 rows and 5 columns: date (datetime), region (string), units (integer), revenue (number), note (string)',
    );
    expect(overview.content).toContain("No analysis has been run yet");
    // Deterministic: the same question gets the same answer.
    expect((await json<Message>(await chat(ada, sessionId, { message: "What is in here?", engine: "statistical" }), 201)).content).toBe(
      overview.content,
    );

    const streamed = await readSse(await chat(ada, sessionId, { message: "units?", engine: "statistical" }, true), ended);
    expect(dataOf(streamed.events.at(-1)!)).toMatchObject({
      engine: "statistical",
      model: null,
      usage: { promptTokens: null, completionTokens: null },
    });
    expect(deltas(streamed.events)).toBe(
      about.content.split("\n\n")[0] + "\n\n(Statistical engine: computed from the dataset profile, without a language model.)",
    );
  });

  it("serves two concurrent turns on one session in order, the second seeing the first's answer", async () => {
    const ada = await person("chat-order");
    const { sessionId } = await sessionOn(ada, "sales");
    const one = unique("one");
    const two = unique("two");
    const slow = "First answer, arriving slowly piece by piece.";
    await scenario(one, [{ content: slow, chunkSize: 5, delayMs: 120 }]);
    await scenario(two, [{ content: "Second answer." }]);

    const first = sseReader(await chat(ada, sessionId, { message: `First question ${one}` }, true));
    // The first turn is under way (holding the session) before the second is sent.
    await first.until((events) => events.some((event) => event.event === "delta"));
    const secondResponse = chat(ada, sessionId, { message: `Second question ${two}` }, true);
    const [a, b] = await Promise.all([first.until(ended), secondResponse.then((response) => sseReader(response).until(ended))]);
    expect(a.events.at(-1)!.event).toBe("done");
    expect(b.events.at(-1)!.event).toBe("done");
    expect(deltas(a.events)).toBe(slow);
    expect(deltas(b.events)).toBe("Second answer.");

    const messages = await transcript(ada, sessionId);
    expect(messages.map((m) => [m.role, m.content])).toEqual([
      ["user", `First question ${one}`],
      ["assistant", slow],
      ["user", `Second question ${two}`],
      ["assistant", "Second answer."],
    ]);
    const [secondRequest] = await stubRequests(two);
    expect(secondRequest!.messages).toContainEqual({ role: "assistant", content: slow });
    const [firstRequest] = await stubRequests(one);
    expect(firstRequest!.messages.some((m) => m.content.includes(two))).toBe(false);
  });

  it("finishes and saves a turn whose client hung up, then frees the session", async () => {
    const ada = await person("chat-hangup");
    const { sessionId } = await sessionOn(ada, "sales");
    const marker = unique("hangup");
    const slow = "An answer nobody waits for, still saved.";
    await scenario(marker, [{ content: slow, chunkSize: 5, delayMs: 100 }]);
    const response = await chat(ada, sessionId, { message: `Leaving ${marker}` }, true);
    await readSse(response, (events) => events.some((event) => event.event === "delta"));

    const messages: Message[] = await eventually(
      () => transcript(ada, sessionId),
      (saved) => saved.length >= 2,
    );
    expect(messages.map((m) => [m.role, m.content])).toEqual([
      ["user", `Leaving ${marker}`],
      ["assistant", slow],
    ]);
    const started = Date.now();
    await json(await chat(ada, sessionId, { message: "next", engine: "statistical" }), 201);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("saves nothing when the model fails, and says why (502 as JSON, a problem event when streamed)", async () => {
    const ada = await person("chat-fail");
    const { sessionId } = await sessionOn(ada, "sales");
    const marker = unique("fail");
    await scenario(marker, [{ status: 500 }]);

    const problem = await expectProblem(await chat(ada, sessionId, { message: `Break ${marker}` }), 502, "MODEL_ERROR");
    expect(problem.instance).toBe(`/api/v1/sessions/${sessionId}/chat`);
    const { events } = await readSse(await chat(ada, sessionId, { message: `Break again ${marker}` }, true), ended);
    expect(events.at(-1)!.event).toBe("problem");
    expect(dataOf(events.at(-1)!)).toMatchObject({
      status: 502,
      code: "MODEL_ERROR",
      instance: `/api/v1/sessions/${sessionId}/chat`,
      requestId: expect.any(String),
    });
    expect(await transcript(ada, sessionId)).toEqual([]);

    // The turn was released: the session answers again at once.
    const ok = unique("ok");
    await scenario(ok, [{ content: "Back." }]);
    expect((await json<Message>(await chat(ada, sessionId, { message: `Again ${ok}` }), 201)).content).toBe("Back.");
  });

  it("refuses an invalid message with a 400 problem naming the field", async () => {
    const ada = await person("chat-invalid");
    const { sessionId } = await sessionOn(ada, "sales");
    for (const body of [
      { message: "" },
      { message: "   " },
      { message: "x".repeat(4_001) },
      { message: "hi", extra: true },
      { message: "hi", engine: "gpt" },
      {},
    ]) {
      const problem = await expectProblem(await chat(ada, sessionId, body), 400, "VALIDATION_FAILED");
      expect(problem.errors!.length).toBeGreaterThan(0);
      expect(problem.errors![0]!.path).toMatch(/^body/);
    }
    expect(
      await json<Message>(await chat(ada, sessionId, { message: `  ${"y".repeat(4_000)}  `, engine: "statistical" }), 201),
    ).toMatchObject({ role: "assistant" });
    expect((await transcript(ada, sessionId))[0]!.content).toBe("y".repeat(4_000));
  });

  it("is a 409 once the session's dataset is deleted", async () => {
    const ada = await person("chat-gone");
    const { sessionId, datasetId } = await sessionOn(ada, "sales");
    expect((await call(`/api/v1/datasets/${datasetId}`, { method: "DELETE", token: ada.token })).status).toBe(204);
    await expectProblem(await chat(ada, sessionId, { message: "still there?", engine: "statistical" }), 409, "CONFLICT");
  });
});

describe("GET /sessions/{id}/messages (integration, SELF)", () => {
  it("pages the transcript oldest first with a cursor and a Link header", async () => {
    const ada = await person("chat-pages");
    const { sessionId } = await sessionOn(ada, "sales");
    for (const n of [1, 2, 3]) await json(await chat(ada, sessionId, { message: `question ${n}`, engine: "statistical" }), 201);

    const firstResponse = await call(`/api/v1/sessions/${sessionId}/messages?limit=4`, { token: ada.token });
    const first = await json<Page>(firstResponse, 200);
    expect(first.data).toHaveLength(4);
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(firstResponse.headers.get("Link")).toBe(
      `</api/v1/sessions/${sessionId}/messages?limit=4&cursor=${first.nextCursor}>; rel="next"`,
    );
    const second = await json<Page>(
      await call(`/api/v1/sessions/${sessionId}/messages?limit=4&cursor=${first.nextCursor}`, { token: ada.token }),
      200,
    );
    expect(second.data).toHaveLength(2);
    expect(second.nextCursor).toBeNull();

    const all = [...first.data, ...second.data];
    expect(all.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user", "assistant"]);
    expect(all.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["question 1", "question 2", "question 3"]);
    expect(new Set(all.map((m) => m.id)).size).toBe(6);
    const times = all.map((m) => Date.parse(m.createdAt));
    expect([...times].sort((x, y) => x - y)).toEqual(times);

    await expectProblem(
      await call(`/api/v1/sessions/${sessionId}/messages?cursor=nonsense`, { token: ada.token }),
      400,
      "VALIDATION_FAILED",
    );
    expect((await json<Page>(await call(`/api/v1/sessions/${sessionId}/messages`, { token: ada.token }), 200)).data).toHaveLength(6);
  });
});

describe("chat tenancy (integration, SELF)", () => {
  it("hides another tenant's session: chat, messages and export are 404", async () => {
    const ada = await person("chat-owner");
    const eve = await person("chat-other");
    const { sessionId } = await sessionOn(ada, "private");
    await json(await chat(ada, sessionId, { message: "secret question", engine: "statistical" }), 201);

    await expectProblem(await chat(eve, sessionId, { message: "let me in", engine: "statistical" }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/sessions/${sessionId}/messages`, { token: eve.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/sessions/${sessionId}/export?format=md`, { token: eve.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/sessions/${sessionId}/messages`), 401, "UNAUTHORIZED");
    // Nothing was added by the refused turn.
    expect(await transcript(ada, sessionId)).toHaveLength(2);
  });
});
