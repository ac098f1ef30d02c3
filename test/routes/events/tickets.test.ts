// Stream tickets (integration via SELF): a browser's EventSource follows a session with a single-use ticket instead of a
// token in the URL, and resumes with a new ticket and lastEventId; spent, foreign and signed-out tickets are refused.
import { EventSource } from "eventsource";
import { describe, expect, it } from "vitest";
import { checkedFetch, BASE, call, json, person, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { analyse, readSse, sessionOn } from "../../support/analysis.ts";

interface Ticket {
  ticket: string;
  expiresAt: string;
  url: string;
}

const ticketFor = async (who: Person, sessionId: string) =>
  json<Ticket>(await call(`/api/v1/sessions/${sessionId}/events/ticket`, { method: "POST", token: who.token }), 201);

const ANALYSIS_EVENTS = ["status", "insight", "chart", "done", "problem"];

/** Opens `url` with the `eventsource` package (the WHATWG EventSource, through the Worker) until `count` `done` events arrived. */
function follow(url: string, doneCount: number): Promise<{ events: { type: string; analysisId: string }[] }> {
  return new Promise((resolve, reject) => {
    // workerd's MessageEvent keeps no lastEventId, so events are told apart by type and analysis.
    const events: { type: string; analysisId: string }[] = [];
    const source = new EventSource(`${BASE}${url}`, { fetch: (input, init) => checkedFetch(input, init) });
    for (const type of ANALYSIS_EVENTS) {
      source.addEventListener(type, (event) => {
        events.push({ type, analysisId: (JSON.parse(event.data) as { analysisId: string }).analysisId });
        if (events.filter((e) => e.type === "done").length === doneCount) {
          source.close();
          resolve({ events });
        }
      });
    }
    source.onerror = (error) => {
      source.close();
      reject(new Error(`EventSource failed: ${error.message ?? error.code ?? "error"}`));
    };
  });
}

describe("POST /sessions/{id}/events/ticket and GET …/events?ticket=", () => {
  it("lets EventSource follow the session, and resume with a new ticket and lastEventId without loss or repeats", async () => {
    const ada = await person("ticket");
    const { sessionId } = await sessionOn(ada, "sales");
    await readSse(await analyse(ada, sessionId, { engine: "statistical" }));

    const first = await ticketFor(ada, sessionId);
    expect(first.ticket).toMatch(/^dcst_[A-Za-z0-9_-]{43}$/);
    expect(first.url).toBe(`/api/v1/sessions/${sessionId}/events?ticket=${first.ticket}`);
    expect(new Date(first.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const seen = await follow(first.url, 1);
    expect(seen.events[0]!.type).toBe("status");

    // While it is away, a second analysis runs; the spent ticket opens nothing.
    await readSse(await analyse(ada, sessionId, { engine: "statistical" }));
    await expectProblem(await call(first.url), 401, "INVALID_TOKEN");

    // The room's log as a header-authenticated reader sees it, ids included: what EventSource saw is its first part.
    const log = (
      await readSse(
        await call(`/api/v1/sessions/${sessionId}/events`, { token: ada.token }),
        (events) => events.filter((event) => event.event === "done").length === 2,
      )
    ).events
      // The room also says when the dataset's store is ready: not an analysis event, and the EventSource above did not listen for it.
      .filter((event) => ANALYSIS_EVENTS.includes(event.event!))
      .map((event) => ({ id: event.id!, type: event.event!, analysisId: (JSON.parse(event.data) as { analysisId: string }).analysisId }));
    expect(log.slice(0, seen.events.length).map(({ type, analysisId }) => ({ type, analysisId }))).toEqual(seen.events);
    const lastSeen = log[seen.events.length - 1]!.id;

    const second = await ticketFor(ada, sessionId);
    const resumed = await follow(`${second.url}&lastEventId=${lastSeen}`, 1);
    // Exactly the events after the last one seen: the second analysis, once each.
    expect(resumed.events).toEqual(log.slice(seen.events.length).map(({ type, analysisId }) => ({ type, analysisId })));
    expect(resumed.events[0]!.analysisId).not.toBe(seen.events[0]!.analysisId);
  });

  it("refuses a ticket for another session, a made-up one, and one whose sign-in has ended", async () => {
    const ada = await person("ticket-refused");
    const [one, two] = [await sessionOn(ada, "one"), await sessionOn(ada, "two")];
    const ticket = await ticketFor(ada, one.sessionId);
    await expectProblem(await call(`/api/v1/sessions/${two.sessionId}/events?ticket=${ticket.ticket}`), 401, "INVALID_TOKEN");
    // Spent by the refused attempt: a ticket is tried once.
    await expectProblem(await call(ticket.url), 401, "INVALID_TOKEN");
    await expectProblem(await call(`/api/v1/sessions/${one.sessionId}/events?ticket=dcst_made-up`), 401, "INVALID_TOKEN");

    const later = await ticketFor(ada, one.sessionId);
    expect((await call("/api/v1/auth/signout", { method: "POST", token: ada.token })).status).toBe(204);
    await expectProblem(await call(later.url), 401, "INVALID_TOKEN");
  });

  it("is only for the session's readers, and only for people (an API key sends its header)", async () => {
    const ada = await person("ticket-owner");
    const eve = await person("ticket-eve");
    const { sessionId } = await sessionOn(ada, "mine");
    await expectProblem(await call(`/api/v1/sessions/${sessionId}/events/ticket`, { method: "POST", token: eve.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/sessions/${sessionId}/events/ticket`, { method: "POST" }), 401, "UNAUTHORIZED");
    const key = await json<{ key: string }>(
      await call(`/api/v1/orgs/${ada.personalOrg}/api-keys`, {
        method: "POST",
        token: ada.token,
        body: { name: "script", scopes: ["read", "write"] },
      }),
      201,
    );
    await expectProblem(await call(`/api/v1/sessions/${sessionId}/events/ticket`, { method: "POST", token: key.key }), 403, "FORBIDDEN");
    // A ticket works on the events stream only: elsewhere it is no credential.
    const ticket = await ticketFor(ada, sessionId);
    await expectProblem(await call(`/api/v1/sessions/${sessionId}?ticket=${ticket.ticket}`), 401, "UNAUTHORIZED");
  });
});
