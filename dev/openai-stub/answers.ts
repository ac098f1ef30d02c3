// What the OpenAI stub says when no scenario matches: an analysis JSON built from the columns it spots in the prompt, or a chat answer.

export interface ChatMessage {
  role?: string;
  content?: unknown;
}

/** A message's text: plain string content, or the text parts of a content array. */
export function messageText(message: ChatMessage): string {
  const { content } = message;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        part && typeof part === "object" && typeof (part as { text?: unknown }).text === "string" ? (part as { text: string }).text : "",
      )
      .join("");
  }
  return "";
}

export function promptText(messages: ChatMessage[]): string {
  return messages.map(messageText).join("\n");
}

/** The rough count OpenAI's tokenizer would give for English: about four characters a token. */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * Splits by code points (never inside a surrogate pair). A fixed size gives equal chunks; without one
 * the sizes cycle through 8–20 characters, uneven like a model's but the same on every run.
 */
export function chunk(text: string, size?: number): string[] {
  const points = Array.from(text);
  const sizes = size && size > 0 ? [Math.floor(size)] : [8, 13, 20, 11, 17, 9, 15];
  const chunks: string[] = [];
  for (let at = 0, i = 0; at < points.length; i++) {
    const n = sizes[i % sizes.length]!;
    chunks.push(points.slice(at, at + n).join(""));
    at += n;
  }
  return chunks;
}

type Kind = "quantitative" | "temporal" | "nominal";

interface Column {
  name: string;
  kind: Kind;
}

const typeWords = "integer|int|number|float|double|decimal|numeric|boolean|bool|datetime|date|timestamp|string|text|categorical";

function kindOf(type: string): Kind {
  const t = type.toLowerCase();
  if (/^(integer|int|number|float|double|decimal|numeric)$/.test(t)) return "quantitative";
  if (/^(datetime|date|timestamp)$/.test(t)) return "temporal";
  return "nominal";
}

/**
 * Columns named in the prompt, whatever way it lists them: profile JSON (`"name": "x", "type": "integer"`),
 * or lines such as `- x (integer)`, `x: number`, `| x | string |`. The API's prompt format may change; the
 * stub only needs plausible names, so it falls back to generic ones rather than fail.
 */
export function findColumns(prompt: string): Column[] {
  const found = new Map<string, Kind>();
  const add = (name: string, type: string) => {
    const clean = name.trim();
    if (clean && clean.length <= 100 && !found.has(clean)) found.set(clean, kindOf(type));
  };
  const json = new RegExp(`"name"\\s*:\\s*"((?:[^"\\\\]|\\\\.){1,100})"\\s*,\\s*"type"\\s*:\\s*"(${typeWords})"`, "gi");
  for (const m of prompt.matchAll(json)) {
    try {
      add(JSON.parse(`"${m[1]}"`) as string, m[2]!);
    } catch {
      // An escape JSON does not know: not a name worth guessing at.
    }
  }
  if (found.size === 0) {
    const line = new RegExp(`^[\\s>*•|-]*[\`"']?([^\`"'\\n:()|,]{1,100}?)[\`"']?\\s*(?:\\(|:|\\|)\\s*(${typeWords})\\b`, "gim");
    for (const m of prompt.matchAll(line)) add(m[1]!, m[2]!);
  }
  return [...found].map(([name, kind]) => ({ name, kind })).slice(0, 50);
}

/** The default analysis: valid against PlannedResult (the model's answer, charts as specs), about the prompt's columns when it names any. */
export function defaultAnalysis(prompt: string): string {
  const columns = findColumns(prompt);
  const numeric = columns.filter((c) => c.kind === "quantitative");
  const temporal = columns.find((c) => c.kind === "temporal");
  const nominal = columns.find((c) => c.kind === "nominal");
  const measure = numeric[0] ?? { name: "value", kind: "quantitative" as const };
  const group = nominal ?? { name: "category", kind: "nominal" as const };
  const names = columns.length > 0 ? columns.map((c) => c.name) : [group.name, measure.name];

  const insights = [
    {
      kind: "summary",
      title: "Dataset overview",
      detail: `The dataset has ${names.length} columns of interest: ${names.slice(0, 8).join(", ")}.`,
      columns: names.slice(0, 10),
      importance: "medium",
    },
    {
      kind: "distribution",
      title: `Distribution of ${measure.name}`,
      detail: `${measure.name} is spread unevenly, with most values near the middle of its range and a long upper tail.`,
      columns: [measure.name],
      importance: "high",
    },
    {
      kind: "category",
      title: `${group.name} drives ${measure.name}`,
      detail: `A few values of ${group.name} account for most of the total ${measure.name}.`,
      columns: [group.name, measure.name],
      importance: "medium",
    },
  ];
  // Chart specs, as the API asks for: the server runs them over the dataset (a spec naming a column the dataset lacks is dropped).
  const charts: unknown[] = [
    temporal
      ? {
          type: "line",
          title: `${measure.name} over ${temporal.name}`,
          description: `Mean ${measure.name} per month of ${temporal.name}.`,
          spec: {
            encoding: {
              x: { field: temporal.name, type: "temporal", timeUnit: "month" },
              y: { field: measure.name, type: "quantitative", aggregate: "mean" },
            },
            sort: { channel: "x" },
          },
        }
      : {
          type: "bar",
          title: `${measure.name} by ${group.name}`,
          description: `Total ${measure.name} for each ${group.name}.`,
          spec: {
            encoding: { x: { field: group.name, type: "nominal" }, y: { field: measure.name, type: "quantitative", aggregate: "sum" } },
            sort: { channel: "y", order: "desc" },
            limit: 20,
          },
        },
    {
      type: "histogram",
      title: `Distribution of ${measure.name}`,
      description: `How often each range of ${measure.name} occurs.`,
      spec: {
        encoding: {
          x: { field: measure.name, type: "quantitative", bin: { maxbins: 10 } },
          y: { type: "quantitative", aggregate: "count" },
        },
      },
    },
  ];
  const summary = `Stub analysis (local OpenAI stub, not a real model) of ${names.length} columns: ${names.slice(0, 8).join(", ")}.`;
  return JSON.stringify({ summary, insights, charts });
}

/** The default chat answer quotes the start of the last user message, so a test can tell which turn it answers. */
export function defaultChat(messages: ChatMessage[]): string {
  const last = [...messages].reverse().find((m) => m.role === "user");
  const words = (last ? messageText(last) : "").trim().split(/\s+/).filter(Boolean);
  const quote = words.slice(0, 8).join(" ") + (words.length > 8 ? " …" : "");
  return `You asked: "${quote}". This is the local OpenAI stub answering; it has not looked at your data, so treat this as a placeholder reply.`;
}
