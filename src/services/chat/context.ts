// What the model sees for a chat turn: the dataset, the latest analysis and as much recent conversation as the budget allows.
import type { Insight } from "../analysis/result.ts";
import { type DatasetContext, describeDataset, estimateTokens } from "../analysis/prompt.ts";
import type { ChatMessage } from "../llm/model.ts";
import type { StoredMessage } from "./transcript.ts";

/** Token budgets of one turn: the dataset description, the earlier conversation, the answer. */
export const CHAT_TOKENS = { dataset: 2_000, analysis: 600, history: 3_000, answer: 1_000 } as const;
/** How many recent messages are read to fill the history budget (more would rarely fit). */
export const HISTORY_MESSAGES = 40;
/** A long earlier message is cut to this many characters rather than crowding out the rest. */
const MAX_HISTORY_MESSAGE_CHARS = 4_000;

/** What a turn costs the caller's model budget, before it runs (the history is not read yet). */
export const turnCostTokens = (message: string) => CHAT_TOKENS.dataset + CHAT_TOKENS.analysis + CHAT_TOKENS.history + CHAT_TOKENS.answer + estimateTokens(message);

export interface LatestAnalysis {
  summary: string | null;
  insights: unknown[] | null;
}

const instructions = `You are a careful data analyst helping someone understand their dataset in an ongoing conversation.
Answer from the dataset profile, the sample rows and the latest analysis below; they are all you know about the data.
When they cannot answer the question, say so and suggest what would. Never invent values. Be concise; plain prose or short lists.`;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** The latest analysis in a few lines: its summary and the titles of its insights. */
function describeAnalysis(analysis: LatestAnalysis): string {
  let text = `Latest analysis:\n${clip(analysis.summary ?? "", 1_200)}\n`;
  const titles = ((analysis.insights ?? []) as Partial<Insight>[]).map((insight) => insight.title).filter((title): title is string => typeof title === "string");
  for (const title of titles) {
    const line = `- ${clip(title, 200)}\n`;
    if (estimateTokens(text + line) > CHAT_TOKENS.analysis) break;
    text += line;
  }
  return text;
}

/**
 * The newest messages whose total fits `budget`, in chronological order. `newestFirst` is the
 * session's recent transcript; the newest message is always kept (clipped if it alone is too long).
 */
export function fitHistory(newestFirst: StoredMessage[], budget: number): ChatMessage[] {
  const kept: ChatMessage[] = [];
  let used = 0;
  for (const message of newestFirst) {
    const content = clip(message.content, MAX_HISTORY_MESSAGE_CHARS);
    const cost = estimateTokens(content) + 4;
    if (used + cost > budget && kept.length > 0) break;
    kept.push({ role: message.role, content });
    used += cost;
  }
  return kept.reverse();
}

/** The messages for one turn: instructions and data as the system prompt, then the conversation, then the question. */
export function chatContext(dataset: DatasetContext, analysis: LatestAnalysis | null, newestFirst: StoredMessage[], question: string): ChatMessage[] {
  const system = [instructions, describeDataset(dataset, CHAT_TOKENS.dataset), analysis ? describeAnalysis(analysis) : "No analysis has been run on this dataset yet."].join("\n\n");
  return [{ role: "system", content: system }, ...fitHistory(newestFirst, CHAT_TOKENS.history), { role: "user", content: question }];
}
