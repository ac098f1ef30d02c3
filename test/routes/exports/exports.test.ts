// Session exports through the Worker (integration via SELF) on the real database: JSON, CSV and Markdown, their headers, long transcripts, bad input.
import { env } from "cloudflare:test";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { chatMessages } from "../../../src/db/schema.ts";
import { BASE, call, checkedFetch, json, person, randomIp, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { analyse, dataOf, readSse, sessionOn } from "../../support/analysis.ts";

interface Analysis {
  summary: string;
  insights: { kind: string; title: string; detail: string; columns: string[] }[];
  charts: { type: string; title: string; dataKeys: string[] }[];
}
interface JsonExport {
  format: string;
  version: number;
  exportedAt: string;
  session: { id: string; title: string };
  dataset: { name: string; rowCount: number; columnCount: number };
  analysis: (Analysis & { id: string; engine: string }) | null;
  messages: { id: string; role: string; content: string; engine: string | null; createdAt: string }[];
}

const today = () => new Date().toISOString().slice(0, 10);
const exportOf = (who: Person, sessionId: string, format?: string) =>
  call(`/api/v1/sessions/${sessionId}/export${format ? `?format=${format}` : ""}`, { token: who.token });
const ask = async (who: Person, sessionId: string, message: string) =>
  json(
    await call(`/api/v1/sessions/${sessionId}/chat`, { method: "POST", token: who.token, body: { message, engine: "statistical" } }),
    201,
  );

/** A session titled with non-ASCII, a statistical analysis, and two turns whose text needs quoting and formula escaping. */
async function sessionWithContent(label: string) {
  const ada = await person(label);
  const { sessionId } = await sessionOn(ada, "sales");
  await json(await call(`/api/v1/sessions/${sessionId}`, { method: "PATCH", token: ada.token, body: { title: "Café sales: Q1" } }), 200);
  const analysis = await readSse(await analyse(ada, sessionId, { engine: "statistical" }), (events) =>
    events.some((event) => event.event === "done"),
  );
  const analysisId = dataOf<{ analysisId: string }>(analysis.events.at(-1)!).analysisId;
  const stored = await json<Analysis>(await call(`/api/v1/analyses/${analysisId}`, { token: ada.token }), 200);
  await ask(ada, sessionId, 'He said "units, please"\nthen left');
  await ask(ada, sessionId, "=SUM(A1:A9) of revenue");
  return { ada, sessionId, analysisId, analysis: stored };
}

describe("GET /sessions/{id}/export (integration, SELF)", () => {
  it("exports JSON by default: session, latest analysis with chart configs, the transcript in order, as an attachment", async () => {
    const { ada, sessionId, analysisId, analysis } = await sessionWithContent("export-json");
    const response = await exportOf(ada, sessionId);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("Content-Disposition")).toBe(
      `attachment; filename="Cafe-sales-Q1-${today()}.json"; filename*=UTF-8''Caf%C3%A9%20sales%20Q1-${today()}.json`,
    );
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as JsonExport;
    expect(body).toMatchObject({
      format: "datacrafted.session-export",
      version: 1,
      session: { id: sessionId, title: "Café sales: Q1" },
      dataset: { name: "sales", rowCount: 60, columnCount: 5 },
    });
    expect(body.analysis).toMatchObject({
      id: analysisId,
      engine: "statistical",
      summary: analysis.summary,
      insights: analysis.insights,
      charts: analysis.charts,
    });
    expect(body.analysis!.charts.length).toBeGreaterThan(0);
    expect(body.messages.map((m) => [m.role, m.content])).toEqual([
      ["user", 'He said "units, please"\nthen left'],
      ["assistant", expect.stringContaining("**units**")],
      ["user", "=SUM(A1:A9) of revenue"],
      ["assistant", expect.stringContaining("**revenue**")],
    ]);
  });

  it("exports CSV that papaparse reads back: one row per item, quoted, formulas escaped", async () => {
    const { ada, sessionId, analysis } = await sessionWithContent("export-csv");
    const response = await exportOf(ada, sessionId, "csv");
    expect(response.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("Content-Disposition")).toMatch(new RegExp(`^attachment; filename="Cafe-sales-Q1-${today()}\\.csv"`));
    const parsed = Papa.parse<Record<string, string>>(await response.text(), { header: true, skipEmptyLines: true });
    expect(parsed.errors).toEqual([]);
    expect(parsed.meta.fields).toEqual(["section", "index", "kind", "title", "detail", "columns", "role", "content", "created_at"]);
    const rows = parsed.data;
    const section = (name: string) => rows.filter((row) => row.section === name);
    expect(section("session")).toEqual([
      expect.objectContaining({ title: "Café sales: Q1", detail: 'Dataset "sales": 60 rows, 5 columns' }),
    ]);
    expect(section("analysis")[0]).toMatchObject({ kind: "statistical", detail: analysis.summary });
    expect(section("insight").map((row) => row.title)).toEqual(analysis.insights.map((insight) => insight.title));
    expect(section("insight")[0]!.columns).toBe(analysis.insights[0]!.columns.join("; "));
    const charts = section("chart");
    expect(charts.map((row) => JSON.parse(row.detail!))).toEqual(analysis.charts);
    const messages = section("message");
    expect(messages.map((row) => [row.index, row.role])).toEqual([
      ["0", "user"],
      ["1", "assistant"],
      ["2", "user"],
      ["3", "assistant"],
    ]);
    expect(messages[0]!.content).toBe('He said "units, please"\nthen left');
    expect(messages[1]!.kind).toBe("statistical");
    // A spreadsheet would run this cell as a formula: it is escaped with a leading quote.
    expect(messages[2]!.content).toBe("'=SUM(A1:A9) of revenue");
    expect(Date.parse(messages[3]!.created_at!)).toBeGreaterThan(Date.parse(messages[0]!.created_at!));
  });

  it("exports Markdown: headings, insight bullets, chart configs as fenced JSON, the transcript as a list", async () => {
    const { ada, sessionId, analysis } = await sessionWithContent("export-md");
    const response = await exportOf(ada, sessionId, "md");
    expect(response.headers.get("Content-Type")).toBe("text/markdown; charset=utf-8");
    expect(response.headers.get("Content-Disposition")).toMatch(new RegExp(`^attachment; filename="Cafe-sales-Q1-${today()}\\.md"`));
    const text = await response.text();
    expect(text.startsWith("# Café sales: Q1\n")).toBe(true);
    expect(text).toContain("- Dataset: sales (60 rows, 5 columns)");
    expect(text).toContain(`## Analysis\n\n_Statistical engine`);
    expect(text).toContain(analysis.summary);
    expect(text).toContain(`- **${analysis.insights[0]!.title}** (${analysis.insights[0]!.kind}`);
    expect(text).toContain(
      `#### 1. ${analysis.charts[0]!.title} (${analysis.charts[0]!.type})\n\n\`\`\`json\n${JSON.stringify(analysis.charts[0], null, 2)}\n\`\`\``,
    );
    const conversation = text.slice(text.indexOf("## Conversation"));
    expect(conversation.match(/^- \*\*(You|Assistant \(statistical engine\))\*\* — /gm)).toEqual([
      "- **You** — ",
      "- **Assistant (statistical engine)** — ",
      "- **You** — ",
      "- **Assistant (statistical engine)** — ",
    ]);
    // A multi-line message stays inside its list item.
    expect(conversation).toContain('  He said "units, please"\n  then left');
  });

  it("streams a long transcript whole and in order, read in pages", async () => {
    const ada = await person("export-long");
    const { sessionId } = await sessionOn(ada, "sales");
    const start = Date.now() - 3_600_000;
    const rows = Array.from({ length: 1_203 }, (_, i) => ({
      id: crypto.randomUUID(),
      sessionId,
      role: i % 2 === 0 ? ("user" as const) : ("assistant" as const),
      content: `message ${i}`,
      // Threes share a millisecond, across page boundaries too (499, 500, 501): the id breaks the tie, as the keyset does.
      createdAt: new Date(start + Math.floor(i / 3)),
    }));
    await createDb(env).insert(chatMessages).values(rows);
    const tieOrder = [...rows]
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
      .map((row) => row.content);

    const body = (await json<JsonExport>(await exportOf(ada, sessionId, "json"), 200)) as JsonExport;
    expect(body.analysis).toBeNull();
    expect(body.messages.map((m) => m.content)).toEqual(tieOrder);
    const csv = Papa.parse<Record<string, string>>(await (await exportOf(ada, sessionId, "csv")).text(), {
      header: true,
      skipEmptyLines: true,
    });
    expect(csv.data.filter((row) => row.section === "message").map((row) => row.content)).toEqual(tieOrder);
    const md = await (await exportOf(ada, sessionId, "md")).text();
    expect(md).toContain("_No analysis has succeeded in this session yet._");
    expect(md.match(/^- \*\*/gm)).toHaveLength(1_203);
  });

  it("exports an .xlsx workbook (Analysis and Messages sheets) that reads back as datasets; another tenant's session is 404", async () => {
    const { ada, sessionId, analysis } = await sessionWithContent("export-xlsx");
    const response = await exportOf(ada, sessionId, "xlsx");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    expect(response.headers.get("Content-Disposition")).toMatch(new RegExp(`^attachment; filename="Cafe-sales-Q1-${today()}\\.xlsx"`));
    const workbook = await response.arrayBuffer();
    // Read back through the Excel upload: each sheet a dataset.
    const projectId = (
      await json<{ id: string }>(await call("/api/v1/projects", { method: "POST", token: ada.token, body: { name: "Back" } }), 201)
    ).id;
    const sheet = async (name: string) =>
      json<{ columnCount: number; rowCount: number; sample: Record<string, unknown>[] }>(
        await checkedFetch(`${BASE}/api/v1/projects/${projectId}/datasets?sheet=${name}&name=${name}`, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${ada.token}`,
            "CF-Connecting-IP": randomIp(),
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          },
          body: workbook,
        }),
        201,
      );
    const messages = await sheet("Messages");
    expect(messages.rowCount).toBe(4);
    expect(messages.sample.map((row) => [row.index, row.role, row.content])).toEqual([
      [0, "user", 'He said "units, please"\nthen left'],
      [1, "assistant", expect.any(String)],
      [2, "user", "=SUM(A1:A9) of revenue"],
      [3, "assistant", expect.any(String)],
    ]);
    expect(messages.sample[0]!.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const head = await sheet("Analysis");
    expect(head.sample.map((row) => row.section)).toEqual([
      "session",
      "analysis",
      ...analysis.insights.map(() => "insight"),
      ...analysis.charts.map(() => "chart"),
    ]);
    expect(head.sample[0]).toMatchObject({ title: "Café sales: Q1", detail: 'Dataset "sales": 60 rows, 5 columns' });
    const stranger = await person("export-xlsx-stranger");
    await expectProblem(await exportOf(stranger, sessionId, "xlsx"), 404, "NOT_FOUND");
  });

  it("exports an empty session as valid files", async () => {
    const ada = await person("export-empty");
    const { sessionId } = await sessionOn(ada, "plain name");
    const body = await json<JsonExport>(await exportOf(ada, sessionId), 200);
    expect(body).toMatchObject({ session: { title: "plain name" }, analysis: null, messages: [] });
    const response = await exportOf(ada, sessionId, "md");
    // An ASCII title needs no filename*.
    expect(response.headers.get("Content-Disposition")).toBe(`attachment; filename="plain-name-${today()}.md"`);
    expect(await response.text()).toContain("_No messages yet._");
  });

  it("refuses an unknown format with a 400 problem", async () => {
    const ada = await person("export-bad");
    const { sessionId } = await sessionOn(ada, "sales");
    const problem = await expectProblem(await exportOf(ada, sessionId, "xls"), 400, "VALIDATION_FAILED");
    expect(problem.errors).toEqual([expect.objectContaining({ path: "query.format" })]);
  });
});
