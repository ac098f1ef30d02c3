// Grounded chat through the Worker (integration via SELF) against the stub model's tool calls and the real dataset store:
// the events and the saved message of a turn with tool calls, the cap, bad SQL, the statistical engine's queries, tenancy.
import { describe, expect, inject, it } from "vitest";
import { addMember, BASE, call, json, person, randomIp, team, type Person } from "../../support/harness.ts";
import { SELF } from "cloudflare:test";
import { expectProblem } from "../../support/problem.ts";
import { dataOf, readSse, salesCsv, scenario, sessionOn, type SseEvent } from "../../support/analysis.ts";
import { settled } from "../../support/dataset-loads.ts";

interface ToolRecord {
  id: string;
  name: string;
  arguments: unknown;
  sql: string | null;
  params: unknown[];
  result: { columns: { name: string; type: string }[]; rows: unknown[][]; rowCount: number; truncated: boolean } | null;
  error: { code: string; detail: string } | null;
}
interface Message {
  id: string;
  role: string;
  content: string;
  engine: string;
  grounding: { dataset: { id: string; version: number; sha256: string }; policy: string; toolCalls: ToolRecord[] } | null;
}
interface StubRequest {
  messages: {
    role: string;
    content: string | null;
    tool_call_id?: string;
    tool_calls?: { id: string; function: { name: string; arguments: string } }[];
  }[];
  tools?: { type: string; function: { name: string } }[];
  tool_choice?: string;
}

const unique = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}`;
const chat = (who: Person, sessionId: string, body: Record<string, unknown>, stream = false) =>
  call(`/api/v1/sessions/${sessionId}/chat`, {
    method: "POST",
    token: who.token,
    body,
    headers: stream ? { Accept: "text/event-stream" } : {},
  });
const ended = (events: SseEvent[]) => events.some((event) => event.event === "done" || event.event === "problem");
const transcript = async (who: Person, sessionId: string) =>
  (await json<{ data: Message[] }>(await call(`/api/v1/sessions/${sessionId}/messages?limit=100`, { token: who.token }), 200)).data;
const stubRequests = async (match: string) =>
  (
    (await (await fetch(`${inject("openaiStub").replace(/\/v1$/, "")}/_stub/requests?match=${encodeURIComponent(match)}`)).json()) as {
      requests: StubRequest[];
    }
  ).requests;

/** The sales file's rows as plain records, read with split: the expectations below never go through the code under test. */
function rowsOf(csv: string) {
  const [, ...lines] = csv.trim().split("\n");
  return lines.map((line) => {
    const [date, region, units, revenue, note] = line.split(",");
    return { date: date!, region: region!, units: Number(units), revenue: Number(revenue), note: note! };
  });
}
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const show = (value: number) => (Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6))));

/** A session on a freshly uploaded sales file whose store has loaded. */
async function readySession(who: Person, csv = salesCsv(90)) {
  const ids = await sessionOn(who, "sales", csv);
  const dataset = await settled(who, ids.datasetId);
  expect(dataset.query.status).toBe("ready");
  return { ...ids, dataset };
}

describe("grounded chat with the model's tool calls (integration, SELF)", () => {
  it("runs query_dataset and chart on the store, streams tool_call and tool_result, hands results back, and saves them with the dataset version", async () => {
    const ada = await person("grounded-tools");
    const csv = salesCsv(90);
    const { sessionId, dataset } = await readySession(ada, csv);
    const marker = unique("tools");
    const sql = "SELECT region, avg(units) AS mean_units, count(*) AS n FROM dataset GROUP BY region ORDER BY region";
    const spec = { encoding: { x: { field: "region" }, y: { field: "revenue", aggregate: "sum" } }, sort: { channel: "x", order: "asc" } };
    await scenario(marker, [
      {
        content: "Let me check.",
        toolCalls: [
          { id: "call_q", name: "query_dataset", arguments: { sql } },
          { id: "call_c", name: "chart", arguments: { spec } },
        ],
        chunkSize: 9,
      },
      { content: "East, north and south differ little; see the table." },
    ]);

    const { events } = await readSse(await chat(ada, sessionId, { message: `Compare regions ${marker}` }, true), ended);
    expect(events.map((event) => event.event)[1]).toBe("delta");
    expect(events.map((event) => event.event).filter((name) => name !== "delta")).toEqual([
      "status",
      "tool_call",
      "tool_result",
      "tool_call",
      "tool_result",
      "done",
    ]);
    const streamed = events
      .filter((event) => event.event === "delta")
      .map((event) => dataOf<{ text: string }>(event).text)
      .join("");
    expect(streamed).toBe("Let me check.\n\nEast, north and south differ little; see the table.");
    const calls = events.filter((event) => event.event === "tool_call").map((event) => dataOf(event));
    expect(calls).toEqual([
      { id: "call_q", name: "query_dataset", arguments: { sql } },
      { id: "call_c", name: "chart", arguments: { spec } },
    ]);

    // Independently: per region, the mean of units, the row count and the sum of revenue over all 90 rows.
    const rows = rowsOf(csv);
    const regions = [...new Set(rows.map((row) => row.region))].sort();
    const expectedQuery = regions.map((region) => {
      const mine = rows.filter((row) => row.region === region);
      return [region, mean(mine.map((row) => row.units)), mine.length];
    });
    const expectedChart = regions.map((region) => [
      region,
      rows.filter((row) => row.region === region).reduce((sum, row) => sum + row.revenue, 0),
    ]);
    const results = events.filter((event) => event.event === "tool_result").map((event) => dataOf<Omit<ToolRecord, "arguments">>(event));
    expect(results[0]).toMatchObject({ id: "call_q", name: "query_dataset", sql, error: null, result: { rowCount: 3, truncated: false } });
    expect(results[0]!.result!.rows.map((row) => row[0])).toEqual(regions);
    results[0]!.result!.rows.forEach((row, i) => {
      expect(row[1]).toBeCloseTo(expectedQuery[i]![1] as number, 9);
      expect(row[2]).toBe(expectedQuery[i]![2]);
    });
    expect(results[1]).toMatchObject({ id: "call_c", name: "chart", error: null });
    expect(results[1]!.sql).toMatch(/^WITH _rows AS \(SELECT/);
    results[1]!.result!.rows.forEach((row, i) => {
      expect(row[0]).toBe(expectedChart[i]![0]);
      expect(row[1]).toBeCloseTo(expectedChart[i]![1] as number, 6);
    });

    // The model was offered both tools, then got one tool message per call, carrying the rows (the default `sample` policy).
    const [first, second] = await stubRequests(marker);
    expect(first!.tools!.map((tool) => tool.function.name)).toEqual(["query_dataset", "chart"]);
    expect(first!.tool_choice).toBe("auto");
    expect(second!.messages.find((m) => m.tool_calls)!.content).toBe("Let me check.");
    const toolMessages = second!.messages.filter((m) => m.role === "tool");
    expect(toolMessages.map((m) => m.tool_call_id)).toEqual(["call_q", "call_c"]);
    const handedBack = JSON.parse(toolMessages[0]!.content!) as { rows: unknown[][]; sql: string };
    expect(handedBack.sql).toBe(sql);
    expect(handedBack.rows).toEqual(results[0]!.result!.rows);
    expect(second!.messages.find((m) => m.tool_calls)!.tool_calls!.map((c) => c.id)).toEqual(["call_q", "call_c"]);

    const [, saved] = await transcript(ada, sessionId);
    expect(saved).toMatchObject({ role: "assistant", engine: "openai", content: streamed });
    expect(saved!.grounding!.dataset).toEqual({ id: dataset.id, version: 1, sha256: dataset.sha256 });
    expect(saved!.grounding!.policy).toBe("sample");
    expect(saved!.grounding!.toolCalls.map((record) => [record.id, record.name, record.sql, record.error])).toEqual([
      ["call_q", "query_dataset", sql, null],
      ["call_c", "chart", results[1]!.sql, null],
    ]);
    expect(saved!.grounding!.toolCalls[0]!.result!.rows).toEqual(results[0]!.result!.rows);
    expect(saved!.grounding!.toolCalls[1]!.arguments).toEqual({ spec });
  });

  it("runs at most CHAT_MAX_TOOL_CALLS (4) calls a turn, refuses the rest as tool results, then asks for text only", async () => {
    const ada = await person("grounded-cap");
    const { sessionId } = await readySession(ada);
    const marker = unique("cap");
    const three = (round: number) => ({
      toolCalls: [1, 2, 3].map((n) => ({
        id: `call_${round}_${n}`,
        name: "query_dataset",
        arguments: { sql: `SELECT ${round * 10 + n} AS n` },
      })),
    });
    await scenario(marker, [three(1), three(2), { content: "Answered with four results." }]);

    const reply = await json<Message>(await chat(ada, sessionId, { message: `Loop ${marker}` }), 201);
    expect(reply.content).toBe("Answered with four results.");
    const records = reply.grounding!.toolCalls;
    expect(records.map((record) => [record.id, record.error?.code ?? null])).toEqual([
      ["call_1_1", null],
      ["call_1_2", null],
      ["call_1_3", null],
      ["call_2_1", null],
      ["call_2_2", "TOOL_CALL_LIMIT"],
      ["call_2_3", "TOOL_CALL_LIMIT"],
    ]);
    expect(records.slice(0, 4).map((record) => record.result!.rows)).toEqual([[[11]], [[12]], [[13]], [[21]]]);
    expect(records.slice(4).every((record) => record.sql === null && record.result === null)).toBe(true);
    const requests = await stubRequests(marker);
    expect(requests.map((request) => request.tool_choice)).toEqual(["auto", "auto", "none"]);
    // Every call was answered, the refused ones with their reason.
    const last = requests[2]!.messages.filter((m) => m.role === "tool");
    expect(last).toHaveLength(6);
    expect(JSON.parse(last[5]!.content!)).toEqual({
      error: { code: "TOOL_CALL_LIMIT", detail: expect.stringContaining("At most 4 tool calls") },
    });
  });

  it("hands bad SQL, a write, a bad spec and broken arguments back to the model as tool errors, never a 500", async () => {
    const ada = await person("grounded-bad");
    const { sessionId } = await readySession(ada);
    const marker = unique("bad");
    await scenario(marker, [
      {
        toolCalls: [
          { id: "call_1", name: "query_dataset", arguments: { sql: "SELECT nope FROM dataset" } },
          { id: "call_2", name: "query_dataset", arguments: { sql: "DELETE FROM dataset" } },
          { id: "call_3", name: "chart", arguments: { spec: { encoding: { x: { field: "ghost" } } } } },
          { id: "call_4", name: "query_dataset", arguments: '{"sql": "SELECT' },
        ],
      },
      { content: "Those queries failed; here is what I can say." },
    ]);
    const { events } = await readSse(await chat(ada, sessionId, { message: `Break it ${marker}` }, true), ended);
    expect(events.at(-1)!.event).toBe("done");
    const errors = events.filter((event) => event.event === "tool_result").map((event) => dataOf<ToolRecord>(event).error?.code);
    expect(errors).toEqual(["QUERY_INVALID", "QUERY_NOT_READ_ONLY", "QUERY_INVALID", "ARGUMENTS_INVALID"]);
    const [, second] = await stubRequests(marker);
    const handed = second!.messages
      .filter((m) => m.role === "tool")
      .map((m) => JSON.parse(m.content!) as { error: { code: string; detail: string } });
    expect(handed.map((m) => m.error.code)).toEqual(errors);
    expect(handed[0]!.error.detail).toMatch(/nope/);
    expect(handed[2]!.error.detail).toMatch(/encoding\.x\.field/);
    // The store is intact: the rows are all still there.
    const [, saved] = await transcript(ada, sessionId);
    expect(saved!.content).toBe("Those queries failed; here is what I can say.");
    const count = await json<{ rows: unknown[][] }>(
      await call(`/api/v1/datasets/${saved!.grounding!.dataset.id}/query`, {
        method: "POST",
        token: ada.token,
        body: { sql: "SELECT count(*) FROM dataset" },
      }),
      200,
    );
    expect(count.rows).toEqual([[90]]);
  });

  it("hides another tenant's session: the turn is a 404 and the model is never asked", async () => {
    const ada = await person("grounded-owner");
    const eve = await person("grounded-other");
    const { sessionId } = await readySession(ada);
    const marker = unique("tenant");
    await scenario(marker, [{ toolCalls: [{ name: "query_dataset", arguments: { sql: "SELECT * FROM dataset" } }] }, { content: "leak" }]);
    await expectProblem(await chat(eve, sessionId, { message: `Show me ${marker}` }), 404, "NOT_FOUND");
    expect(await stubRequests(marker)).toEqual([]);
  });

  it("refuses a viewer's turn (403) before any tool runs, and answers a member's in the same organization", async () => {
    const owner = await person("grounded-team-owner");
    const viewer = await person("grounded-viewer");
    const member = await person("grounded-member");
    const slug = await team(owner, "Grounded team");
    await addMember(owner, slug, viewer, "viewer");
    await addMember(owner, slug, member, "member");
    const projectId = (
      await json<{ id: string }>(
        await call("/api/v1/projects", { method: "POST", token: owner.token, body: { name: "Team data", org: slug } }),
        201,
      )
    ).id;
    const upload = await SELF.fetch(`${BASE}/api/v1/projects/${projectId}/datasets?name=team`, {
      method: "POST",
      headers: { Authorization: `Bearer ${owner.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": randomIp() },
      body: salesCsv(30),
    });
    const datasetId = (await json<{ id: string }>(upload, 201)).id;
    expect((await settled(owner, datasetId)).query.status).toBe("ready");
    const sessionId = (
      await json<{ id: string }>(await call("/api/v1/sessions", { method: "POST", token: owner.token, body: { datasetId } }), 201)
    ).id;
    const marker = unique("viewer");
    await scenario(marker, [
      { toolCalls: [{ name: "query_dataset", arguments: { sql: "SELECT count(*) FROM dataset" } }] },
      { content: "Thirty rows." },
    ]);

    await expectProblem(await chat(viewer, sessionId, { message: `Count ${marker}` }), 403, "FORBIDDEN");
    expect(await stubRequests(marker)).toEqual([]);
    const reply = await json<Message>(await chat(member, sessionId, { message: `Count ${marker}` }), 201);
    expect(reply.grounding!.toolCalls[0]!.result!.rows).toEqual([[30]]);
  });
});

describe("the statistical engine's queries (integration, SELF)", () => {
  it("answers average-by, count-where, trend and top-N questions with SQL over every row, naming the columns it read", async () => {
    const ada = await person("grounded-stat");
    const csv = salesCsv(90);
    const { sessionId, dataset } = await readySession(ada, csv);
    const rows = rowsOf(csv);
    const ask = async (message: string) => json<Message>(await chat(ada, sessionId, { message, engine: "statistical" }), 201);

    const average = await ask("What is the average units by region?");
    expect(average.content).toContain("Columns recognised: “units” → units, “region” → region.");
    const byRegion = [...new Set(rows.map((row) => row.region))].map(
      (region) => [region, mean(rows.filter((row) => row.region === region).map((row) => row.units))] as const,
    );
    byRegion.sort((a, b) => b[1] - a[1]);
    for (const [region, value] of byRegion) expect(average.content).toContain(`- ${region}: ${show(value)}`);
    expect(average.content.indexOf(`- ${byRegion[0]![0]}:`)).toBeLessThan(average.content.indexOf(`- ${byRegion[2]![0]}:`));
    expect(average.grounding!.dataset).toEqual({ id: dataset.id, version: 1, sha256: dataset.sha256 });
    expect(average.grounding!.toolCalls).toHaveLength(1);
    expect(average.grounding!.toolCalls[0]!.sql).toMatch(/avg\(/);

    const count = await ask("How many rows where units > 50?");
    const over = rows.filter((row) => row.units > 50).length;
    expect(count.content).toContain(`**${over}** of 90 rows have units > 50.`);
    const north = await ask("how many rows where region is NORTH");
    expect(north.content).toContain(`**${rows.filter((row) => row.region === "north").length}** of 90 rows have region = NORTH.`);
    expect((await ask("How many rows are there?")).content).toContain("The dataset has **90** rows.");

    const trend = await ask("Show the trend of revenue");
    // 90 daily rows: one point a day, the first and last being the first and last rows' revenue.
    expect(trend.content).toContain("Average **revenue** per day of **date**, over 90 days: rising");
    expect(trend.content).toContain(`- first day (${rows[0]!.date}): ${show(rows[0]!.revenue)}`);
    expect(trend.content).toContain(`- last day (${rows.at(-1)!.date}): ${show(rows.at(-1)!.revenue)}`);
    const highest = rows.reduce((best, row) => (row.revenue > best.revenue ? row : best));
    expect(trend.content).toContain(`highest: ${show(highest.revenue)} (${highest.date})`);

    const top = await ask("What are the top 2 regions by revenue?");
    expect(top.content).toContain("Columns recognised: “regions” → region, “revenue” → revenue.");
    const totals = [...new Set(rows.map((row) => row.region))]
      .map((region) => [region, rows.filter((row) => row.region === region).reduce((sum, row) => sum + row.revenue, 0)] as const)
      .sort((a, b) => b[1] - a[1]);
    expect(top.content).toContain(
      `Top 2 **region** by total **revenue**:\n1. ${totals[0]![0]}: ${show(totals[0]![1])}\n2. ${totals[1]![0]}: ${show(totals[1]![1])}\n`,
    );
    expect(top.content).not.toContain(`3. ${totals[2]![0]}`);
  });

  it("says plainly when it cannot compute a question, and streams its queries as tool events", async () => {
    const ada = await person("grounded-cannot");
    const { sessionId } = await readySession(ada);
    const cannot = await json<Message>(
      await chat(ada, sessionId, { message: "What is the average of happiness by region?", engine: "statistical" }),
      201,
    );
    expect(cannot.content).toContain(
      "I can't answer that with a query: an average needs a number column before “by”. Columns recognised: “region” → region.",
    );
    expect(cannot.grounding!.toolCalls).toEqual([]);
    const noColumn = await json<Message>(
      await chat(ada, sessionId, { message: "how many rows where mood is happy", engine: "statistical" }),
      201,
    );
    expect(noColumn.content).toContain("I can't answer that with a query: the condition after “where” names no column of the dataset.");

    const { events } = await readSse(
      await chat(ada, sessionId, { message: "average revenue by region", engine: "statistical" }, true),
      ended,
    );
    expect(events.map((event) => event.event).filter((name) => name !== "delta")).toEqual(["status", "tool_call", "tool_result", "done"]);
    expect(dataOf(events[1]!)).toMatchObject({ id: "stat_1", name: "chart" });
    expect(dataOf<ToolRecord>(events[2]!).result!.rowCount).toBe(3);
  });
});
