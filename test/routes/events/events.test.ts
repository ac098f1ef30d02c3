// A session's event stream (its SessionRoom): live fan-out, resume with Last-Event-ID without loss or duplicates, tenancy.
import { describe, expect, it } from "vitest";
import { call, person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { analyse, dataOf, readSse, sessionOn } from "../../support/analysis.ts";

const follow = (token: string, sessionId: string, lastEventId?: string) =>
  call(`/api/v1/sessions/${sessionId}/events`, {
    token,
    headers: { Accept: "text/event-stream", ...(lastEventId ? { "Last-Event-ID": lastEventId } : {}) },
  });

describe("GET /sessions/{id}/events", () => {
  it("fans an analysis out to a listener, and a reconnect with Last-Event-ID gets exactly what it missed", async () => {
    const ada = await person("ada");
    const { sessionId } = await sessionOn(ada, "sales");
    const listener = await follow(ada.token, sessionId);
    expect(listener.status).toBe(200);
    expect(listener.headers.get("Content-Type")).toMatch(/^text\/event-stream/);

    // The listener sees the first analysis live; it drops after its first insight.
    const seen = readSse(listener, (events) => events.some((event) => event.event === "insight"));
    const first = await readSse(await analyse(ada, sessionId, { engine: "statistical" }));
    // The dataset's store may report in meanwhile (dataset.ready, from the load queue): not part of the analyses.
    const analysisOnly = <T extends { event: string }>(events: T[]) => events.filter((event) => !event.event.startsWith("dataset."));
    const live = (await seen).events;
    expect(analysisOnly(live)[0]!.event).toBe("status");
    const lastSeen = live.at(-1)!.id!;
    // While it is away, a second analysis runs.
    const second = await readSse(await analyse(ada, sessionId, { engine: "statistical" }));

    const resumed = await readSse(
      await follow(ada.token, sessionId, lastSeen),
      (events) => events.filter((event) => event.event === "done").length === 2,
    );
    const ids = resumed.events.map((event) => Number(event.id));
    expect(ids[0]).toBe(Number(lastSeen) + 1);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    // Together, what the listener saw and what it resumed with is every event of both analyses, once each.
    const all = analysisOnly([...live, ...resumed.events]).map(
      (event) => `${event.event}:${dataOf<{ analysisId: string }>(event).analysisId}`,
    );
    const expected = [...first.events, ...second.events].map(
      (event) => `${event.event}:${dataOf<{ analysisId: string }>(event).analysisId}`,
    );
    expect(all).toEqual(expected);
  });

  it("sends heartbeat comments on an idle stream", async () => {
    const ada = await person("ada");
    const { sessionId } = await sessionOn(ada, "sales");
    const started = Date.now();
    const reader = (await follow(ada.token, sessionId)).body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes(": heartbeat") && Date.now() - started < 5_000) text += (await reader.read()).value ?? "";
    await reader.cancel();
    expect(text).toContain(": heartbeat");
  });

  it("keeps another tenant out and validates Last-Event-ID", async () => {
    const ada = await person("ada");
    const eve = await person("eve");
    const { sessionId } = await sessionOn(ada, "sales");
    await expectProblem(await follow(eve.token, sessionId), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/sessions/${sessionId}/events`), 401, "UNAUTHORIZED");
    await expectProblem(await follow(ada.token, sessionId, "abc"), 400, "VALIDATION_FAILED");
  });
});
