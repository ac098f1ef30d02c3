// Test helpers for analysis: a dataset and a session to analyse, the stub model's scenarios, and an SSE reader.
import { inject } from "vitest";
import { checkedFetch, BASE, call, json, randomIp, type Person } from "./harness.ts";

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Parses an event stream's text into events (comments are counted apart). */
export function parseSse(text: string): { events: SseEvent[]; comments: number } {
  const events: SseEvent[] = [];
  let comments = 0;
  for (const block of text.split(/\n\n/)) {
    if (!block.trim()) continue;
    let event = "message";
    const data: string[] = [];
    let id: string | undefined;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) comments++;
      else if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
      else if (line.startsWith("id: ")) id = line.slice(4);
    }
    if (data.length > 0) events.push({ event, data: data.join("\n"), ...(id !== undefined ? { id } : {}) });
  }
  return { events, comments };
}

/** Reads an event stream until `until` says stop (or it ends), then cancels it; `until` sees every event so far as they arrive. */
export async function readSse(
  response: Response,
  until: (events: SseEvent[]) => boolean | Promise<boolean> = () => false,
): Promise<{ events: SseEvent[]; comments: number }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
    const complete = text.slice(0, text.lastIndexOf("\n\n") + 2);
    if (await until(parseSse(complete).events)) break;
  }
  await reader.cancel().catch(() => {});
  return parseSse(text.slice(0, text.lastIndexOf("\n\n") + 2));
}

export const dataOf = <T = Record<string, unknown>>(event: SseEvent) => JSON.parse(event.data) as T;

/** A CSV of sales by day: a trend, a category, a correlated pair; enough rows that the sample is only a part of it. */
export function salesCsv(rows = 60, marker = "") {
  const lines = ["date,region,units,revenue,note"];
  for (let i = 0; i < rows; i++) {
    const day = new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10);
    const units = 10 + i + (i % 7);
    lines.push(
      `${day},${["north", "south", "east"][i % 3]},${units},${(units * 12.5).toFixed(2)},${i === rows - 1 && marker ? marker : `row-${String(i).padStart(4, "0")}`}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** A project, a dataset uploaded to it under `name`, and a session on that dataset. */
export async function sessionOn(
  who: Person,
  name: string,
  csv = salesCsv(),
): Promise<{ projectId: string; datasetId: string; sessionId: string }> {
  const projectId = (
    await json<{ id: string }>(await call("/api/v1/projects", { method: "POST", token: who.token, body: { name: "Analysis" } }), 201)
  ).id;
  const upload = await checkedFetch(`${BASE}/api/v1/projects/${projectId}/datasets?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": randomIp() },
    body: csv,
  });
  const datasetId = (await json<{ id: string }>(upload, 201)).id;
  const sessionId = (
    await json<{ id: string }>(await call("/api/v1/sessions", { method: "POST", token: who.token, body: { datasetId } }), 201)
  ).id;
  return { projectId, datasetId, sessionId };
}

/** Starts an analysis as an event stream. */
export const analyse = (who: Person, sessionId: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  call(`/api/v1/sessions/${sessionId}/analyses`, {
    method: "POST",
    token: who.token,
    body,
    headers: { Accept: "text/event-stream", ...headers },
  });

const stubUrl = () => inject("openaiStub").replace(/\/v1$/, "");

/** Scripts the stub model's answers to requests whose messages contain `match`. */
export async function scenario(match: string, responses: Record<string, unknown>[]) {
  const response = await fetch(`${stubUrl()}/_stub/scenarios`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ match, responses }),
  });
  if (response.status !== 201) throw new Error(`stub refused the scenario: ${await response.text()}`);
}

/** What the stub model was asked, for requests containing `match`. */
export async function stubRequests(match: string): Promise<{ messages: { role: string; content: string }[]; outcome: string }[]> {
  const response = await fetch(`${stubUrl()}/_stub/requests?match=${encodeURIComponent(match)}`);
  return ((await response.json()) as { requests: { messages: { role: string; content: string }[]; outcome: string }[] }).requests;
}

/** A valid analysis answer naming the sales columns. */
export const validAnswer = JSON.stringify({
  summary: "Units and revenue rise steadily through the period.",
  insights: [
    { kind: "trend", title: "Units rise", detail: "Units grow by about one a day.", columns: ["date", "units"], importance: "high" },
    {
      kind: "correlation",
      title: "Revenue follows units",
      detail: "Revenue is units times the price.",
      columns: ["units", "revenue", "not_a_column"],
      importance: "medium",
    },
  ],
  charts: [
    {
      type: "line",
      title: "Units over time",
      description: "",
      dataKeys: ["date", "units"],
      encoding: { x: { field: "date", type: "temporal" }, y: { field: "units", type: "quantitative" } },
    },
    { type: "bar", title: "Made up", description: "", dataKeys: ["ghost"], encoding: { x: { field: "ghost", type: "nominal" } } },
  ],
});
