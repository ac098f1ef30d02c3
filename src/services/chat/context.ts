// What the model sees for a chat turn: the dataset, the latest analysis and as much recent conversation as the budget allows.
import type { Insight } from "../analysis/result.ts";
import { type DatasetContext, describeDataset, estimateTokens } from "../analysis/prompt.ts";
import type { LlmDataPolicy } from "../llm/data-policy.ts";
import type { ChatMessage } from "../llm/model.ts";
import type { StoredMessage } from "./transcript.ts";

/** Token budgets of one turn: the dataset description, the earlier conversation, the answer. */
export const CHAT_TOKENS = { dataset: 2_000, analysis: 600, history: 3_000, answer: 1_000 } as const;
/** How many recent messages are read to fill the history budget (more would rarely fit). */
export const HISTORY_MESSAGES = 40;
/** A long earlier message is cut to this many characters rather than crowding out the rest. */
const MAX_HISTORY_MESSAGE_CHARS = 4_000;

/** What a turn costs the caller's model budget, before it runs (the history is not read yet). */
export const turnCostTokens = (message: string) =>
  CHAT_TOKENS.dataset + CHAT_TOKENS.analysis + CHAT_TOKENS.history + CHAT_TOKENS.answer + estimateTokens(message);

export interface LatestAnalysis {
  summary: string | null;
  insights: unknown[] | null;
}

const instructions = `You are a careful data analyst helping someone understand their dataset in an ongoing conversation.
You have two tools that run over every row of the dataset: query_dataset (one read-only SQLite SELECT over the table \`dataset\`)
and chart (a declarative chart spec). Compute every number you quote with them rather than from the profile or the sample; an
error comes back as the tool's answer, so correct the query and try again. Use few calls: aggregate in SQL.
When the data cannot answer the question, say so and suggest what would. Never invent values. Be concise; plain prose or short lists.`;

const schemaPolicyNote = `This organization's data policy is "schema": you see column names, types and counts only, never a value. Tool results
tell you the columns and the row count of each result, not its values; the person sees the full results beside your answer.
Use the tools to compute what was asked, then describe what each result shows without quoting figures you have not seen.`;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** The latest analysis in a few lines: its summary and the titles of its insights. */
function describeAnalysis(analysis: LatestAnalysis): string {
  let text = `Latest analysis:\n${clip(analysis.summary ?? "", 1_200)}\n`;
  const titles = ((analysis.insights ?? []) as Partial<Insight>[])
    .map((insight) => insight.title)
    .filter((title): title is string => typeof title === "string");
  for (const title of titles) {
    const line = `- ${clip(title, 200)}\n`;
    if (estimateTokens(text + line) > CHAT_TOKENS.analysis) break;
    text += line;
  }
  return text;
}

const WITHHELD_ANSWER = "(An earlier answer, withheld: it may quote the data, which this organization's policy keeps from the model.)";

/** A message the model may see again under the `schema` policy: the person's own words, or a model answer given under that policy (it saw no value). */
const saidUnderSchema = (message: StoredMessage) =>
  message.role === "user" || (message.engine === "openai" && message.grounding?.policy === "schema");

/**
 * The newest messages whose total fits `budget`, in chronological order. `newestFirst` is the
 * session's recent transcript; the newest message is always kept (clipped if it alone is too long).
 */
export function fitHistory(newestFirst: StoredMessage[], budget: number, policy: LlmDataPolicy = "sample"): ChatMessage[] {
  const kept: ChatMessage[] = [];
  let used = 0;
  for (const message of newestFirst) {
    const content = clip(policy === "schema" && !saidUnderSchema(message) ? WITHHELD_ANSWER : message.content, MAX_HISTORY_MESSAGE_CHARS);
    const cost = estimateTokens(content) + 4;
    if (used + cost > budget && kept.length > 0) break;
    kept.push({ role: message.role, content });
    used += cost;
  }
  return kept.reverse();
}

/** The messages for one turn: instructions and data as the system prompt, then the conversation, then the question. */
export function chatContext(
  dataset: DatasetContext,
  analysis: LatestAnalysis | null,
  newestFirst: StoredMessage[],
  question: string,
): ChatMessage[] {
  const policy = dataset.policy ?? "sample";
  // An analysis quotes the data (its statistics, its examples): under `schema` only its existence is told.
  const latest = !analysis
    ? "No analysis has been run on this dataset yet."
    : policy === "schema"
      ? "An analysis has been run; its text is withheld by the data policy."
      : describeAnalysis(analysis);
  const system = [
    instructions,
    ...(policy === "schema" ? [schemaPolicyNote] : []),
    describeDataset(dataset, CHAT_TOKENS.dataset),
    latest,
  ].join("\n\n");
  return [
    { role: "system", content: system },
    ...fitHistory(newestFirst, CHAT_TOKENS.history, policy),
    { role: "user", content: question },
  ];
}
