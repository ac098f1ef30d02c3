// The three export formats as text generators: JSON, CSV (papaparse, formula-safe) and Markdown; each consumes the transcript page by page.
import Papa from "papaparse";
import type { StoredMessage } from "../chat/transcript.ts";
import type { ExportBundle } from "./bundle.ts";

export type ExportFormat = "json" | "csv" | "md" | "xlsx";

type Pages = AsyncIterable<StoredMessage[]>;

export const exportMessage = (message: StoredMessage) => ({
  id: message.id,
  role: message.role,
  content: message.content,
  engine: message.engine,
  model: message.model,
  createdAt: message.createdAt.toISOString(),
});

/** One JSON document, written as it is read: the head, then each message, then the closing brackets. */
export async function* jsonExport(bundle: ExportBundle, pages: Pages): AsyncGenerator<string> {
  const head = {
    format: "datacrafted.session-export",
    version: 1,
    exportedAt: bundle.exportedAt.toISOString(),
    session: bundle.session,
    dataset: bundle.dataset,
    analysis: bundle.analysis,
  };
  yield `${JSON.stringify(head, null, 2).slice(0, -2)},\n  "messages": [`;
  let first = true;
  for await (const page of pages) {
    yield page.map((message) => `${first ? ((first = false), "") : ","}\n    ${JSON.stringify(exportMessage(message))}`).join("");
  }
  yield `${first ? "" : "\n  "}]\n}\n`;
}

export const csvColumns = ["section", "index", "kind", "title", "detail", "columns", "role", "content", "created_at"] as const;
export type CsvRow = Partial<Record<(typeof csvColumns)[number], string | number | null>>;

/** Quoted as RFC 4180 wants; cells that a spreadsheet would run as a formula (=, +, -, @…) are escaped. */
const csv = (rows: CsvRow[], header: boolean) =>
  `${Papa.unparse(rows, { columns: [...csvColumns], header, newline: "\r\n", escapeFormulae: true })}\r\n`;

/** The rows before the transcript: the session, the analysis summary, each insight, each chart (its config as JSON). */
export function headRows(bundle: ExportBundle): CsvRow[] {
  const { session, dataset, analysis } = bundle;
  const head: CsvRow[] = [
    {
      section: "session",
      index: 0,
      kind: "session",
      title: session.title,
      detail: `Dataset "${dataset.name}": ${dataset.rowCount} rows, ${dataset.columnCount} columns`,
      created_at: session.createdAt,
    },
  ];
  if (analysis) {
    head.push({
      section: "analysis",
      index: 0,
      kind: analysis.engine,
      title: analysis.question ?? "",
      detail: analysis.summary,
      created_at: analysis.createdAt,
    });
    analysis.insights.forEach((insight, index) =>
      head.push({
        section: "insight",
        index,
        kind: insight.kind,
        title: insight.title,
        detail: insight.detail,
        columns: (insight.columns ?? []).join("; "),
      }),
    );
    analysis.charts.forEach((chart, index) =>
      head.push({
        section: "chart",
        index,
        kind: chart.type,
        title: chart.title,
        detail: JSON.stringify(chart),
        columns: chart.dataKeys.join("; "),
      }),
    );
  }
  return head;
}

/** One row per item: the session, the analysis summary, each insight, each chart (its config as JSON), each message. */
export async function* csvExport(bundle: ExportBundle, pages: Pages): AsyncGenerator<string> {
  yield csv(headRows(bundle), true);
  let index = 0;
  for await (const page of pages) {
    yield csv(
      page.map((message) => ({
        section: "message",
        index: index++,
        kind: message.engine ?? "",
        role: message.role,
        content: message.content,
        created_at: message.createdAt.toISOString(),
      })),
      false,
    );
  }
}

/** A heading or list item on one line. */
const inline = (text: string) => text.replace(/\s*[\r\n]+\s*/g, " ").trim();
/** A code fence longer than any run of backticks inside, so the content cannot close it. */
const fence = (text: string) => "`".repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((run) => run[0].length + 1)));
/** Continuation lines of a list item, indented under it. */
const indent = (text: string, by: string) => text.replace(/\r\n|\r|\n/g, `\n${by}`);

/** Headings for the session and analysis, insights as bullets, chart configs as fenced JSON, the transcript as a list. */
export async function* markdownExport(bundle: ExportBundle, pages: Pages): AsyncGenerator<string> {
  const { session, dataset, analysis } = bundle;
  let text = `# ${inline(session.title)}\n\n`;
  text += `- Session: \`${session.id}\`\n- Dataset: ${inline(dataset.name)} (${dataset.rowCount} rows, ${dataset.columnCount} columns)${dataset.deleted ? " — deleted" : ""}\n- Exported: ${bundle.exportedAt.toISOString()}\n\n`;
  text += "## Analysis\n\n";
  if (!analysis) {
    text += "_No analysis has succeeded in this session yet._\n\n";
  } else {
    text += `_${analysis.engine === "statistical" ? "Statistical engine" : `Model ${analysis.model ?? analysis.engine}`}, ${analysis.finishedAt ?? analysis.createdAt}${analysis.question ? ` — question: ${inline(analysis.question)}` : ""}_\n\n`;
    text += `${analysis.summary}\n\n### Insights\n\n`;
    text +=
      analysis.insights.length === 0
        ? "_None._\n"
        : analysis.insights
            .map(
              (insight) =>
                `- **${inline(insight.title)}** (${insight.kind}, ${insight.importance}): ${indent(insight.detail, "  ")}${insight.columns?.length ? ` — columns: ${insight.columns.map((name) => `\`${inline(name)}\``).join(", ")}` : ""}\n`,
            )
            .join("");
    text += "\n### Charts\n\n";
    if (analysis.charts.length === 0) text += "_None._\n\n";
    analysis.charts.forEach((chart, index) => {
      const json = JSON.stringify(chart, null, 2);
      const marks = fence(json);
      text += `#### ${index + 1}. ${inline(chart.title)} (${chart.type})\n\n${marks}json\n${json}\n${marks}\n\n`;
    });
  }
  yield `${text}## Conversation\n\n`;
  let empty = true;
  for await (const page of pages) {
    empty = false;
    yield page
      .map((message) => {
        const who =
          message.role === "user"
            ? "You"
            : `Assistant${message.engine ? ` (${message.engine === "statistical" ? "statistical engine" : (message.model ?? message.engine)})` : ""}`;
        return `- **${who}** — ${message.createdAt.toISOString()}\n\n  ${indent(message.content, "  ")}\n\n`;
      })
      .join("");
  }
  if (empty) yield "_No messages yet._\n";
}
