// One chat turn once the session's turn is held: read the context, answer (the model with its tools, or the statistical engine), save both messages, publish them.
import type { QueryDataset } from "../query/run.ts";
import { and, desc, eq } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { analyses, organizations } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { ApiError } from "../../lib/problem.ts";
import { publish } from "../../durable-objects/session-room/room.ts";
import type { DatasetContext } from "../analysis/prompt.ts";
import type { Engine } from "../analysis/run.ts";
import { DEFAULT_DATA_POLICY, type LlmDataPolicy, modelViewOfResult } from "../llm/data-policy.ts";
import { type ModelMessage, streamCompletion, type Usage } from "../llm/model.ts";
import { CHAT_TOKENS, chatContext, HISTORY_MESSAGES } from "./context.ts";
import type { ChatGrounding, ToolCallRecord } from "./grounding.ts";
import { answerPieces } from "./statistical-answer.ts";
import { statisticalTurn } from "./statistical-query.ts";
import { parseArguments, refusedCall, type ToolContext, runTool, toolDefinitions } from "./tools.ts";
import { presentMessage, recentMessages, saveTurn, type StoredMessage } from "./transcript.ts";
import { TURN_LEASE_MS } from "./turn.ts";

export interface TurnDeps {
  config: Config;
  db: Database;
  logger: Logger;
}

export interface TurnInput {
  sessionId: string;
  userId: string;
  /** The session's dataset version: what the prompt describes and where the tools run. */
  dataset: DatasetContext & QueryDataset;
  question: string;
  engine: Engine;
  /** Sent to the model as `traceparent`. */
  traceparent?: string;
}

export interface TurnResult {
  user: StoredMessage;
  assistant: StoredMessage;
  engine: Engine;
  model: string | null;
  usage: { promptTokens: number | null; completionTokens: number | null };
}

/** What a turn reports as it goes: pieces of the answer, and each tool call and its result. */
export interface TurnEvents {
  delta(text: string): void;
  toolCall(call: { id: string; name: string; arguments: unknown }): void;
  toolResult(record: Omit<ToolCallRecord, "arguments">): void;
}

export const silentEvents: TurnEvents = { delta() {}, toolCall() {}, toolResult() {} };

/** Room kept for saving and publishing once the model is done: the turn's lease must outlast the model's rounds. */
const SAVE_MARGIN_MS = 10_000;

const withoutArguments = ({ arguments: _args, ...rest }: ToolCallRecord) => rest;

/** The tool's answer as the model reads it: an error it can correct, or the result as the data policy allows. */
const toolMessage = (policy: LlmDataPolicy, record: ToolCallRecord) =>
  record.error || !record.result || record.sql === null
    ? JSON.stringify({ error: record.error })
    : modelViewOfResult(policy, record.sql, record.result);

/**
 * The model's answer: a loop of completions in which the model may call query_dataset and chart. Each call is run on the store
 * and its result handed back as a `tool` message; after CHAT_MAX_TOOL_CALLS calls the model is asked for text only.
 */
async function modelTurn(deps: TurnDeps, input: TurnInput, messages: ModelMessage[], policy: LlmDataPolicy, events: TurnEvents) {
  const { config } = deps;
  const ctx: ToolContext = {
    config,
    logger: deps.logger,
    dataset: input.dataset,
    columns: input.dataset.profile.columns.map(({ name, type }) => ({ name, type })),
  };
  const records: ToolCallRecord[] = [];
  const usage: Usage = { promptTokens: 0, completionTokens: 0 };
  const deadline = Date.now() + TURN_LEASE_MS - SAVE_MARGIN_MS;
  let text = "";
  for (let round = 0; ; round++) {
    const capped = records.length >= config.CHAT_MAX_TOOL_CALLS;
    const timeoutMs = Math.min(config.OPENAI_TIMEOUT_MS, deadline - Date.now());
    const roundStart = text.length;
    if (timeoutMs <= 0)
      throw new ApiError(504, { code: "MODEL_TIMEOUT", detail: "The model did not finish its answer within the turn's time." });
    const completion = await streamCompletion(
      config,
      {
        messages,
        tools: toolDefinitions,
        toolChoice: capped ? "none" : "auto",
        timeoutMs,
        maxTokens: CHAT_TOKENS.answer,
        traceparent: input.traceparent,
        meter: { orgId: input.dataset.orgId, logger: deps.logger },
      },
      (piece) => {
        // Text from an earlier round (said before its tool calls) is kept apart from this round's, in the stream as in the saved answer.
        if (round > 0 && roundStart === text.length && text.trim() && !/\s$/.test(text)) {
          text += "\n\n";
          events.delta("\n\n");
        }
        text += piece;
        events.delta(piece);
      },
    );
    usage.promptTokens += completion.usage.promptTokens;
    usage.completionTokens += completion.usage.completionTokens;
    // Past the cap the model was told to answer; a call it makes anyway is not run.
    if (completion.toolCalls.length === 0 || capped) break;

    const calls = completion.toolCalls.map((call, i) => ({ ...call, id: call.id || `call_${round}_${i}` }));
    messages.push({
      role: "assistant",
      content: completion.text || null,
      tool_calls: calls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } })),
    });
    for (const call of calls) {
      const parsed = parseArguments(call.arguments);
      events.toolCall({ id: call.id, name: call.name, arguments: parsed.ok ? parsed.value : parsed.raw });
      const record =
        records.length >= config.CHAT_MAX_TOOL_CALLS
          ? refusedCall(
              call.id,
              call.name,
              parsed.ok ? parsed.value : parsed.raw,
              "TOOL_CALL_LIMIT",
              `At most ${config.CHAT_MAX_TOOL_CALLS} tool calls per turn; answer with the results you have.`,
            )
          : await runTool(ctx, call.id, call.name, call.arguments);
      records.push(record);
      events.toolResult(withoutArguments(record));
      // Every call gets an answer, as the API requires, refused ones included.
      messages.push({ role: "tool", tool_call_id: call.id, content: toolMessage(policy, record) });
    }
  }
  if (!text.trim()) throw new ApiError(502, { code: "MODEL_OUTPUT_INVALID", detail: "The model returned an empty answer." });
  return { text, usage, records };
}

/**
 * Answers `input.question`, reporting the answer (and any tool calls) through `events`. Nothing is saved unless the answer
 * completes; then the question and the answer, with its grounding, are saved together and published to the room.
 * Rejects with an ApiError (MODEL_TIMEOUT, MODEL_ERROR, MODEL_UNAVAILABLE, MODEL_OUTPUT_INVALID).
 */
export async function answerTurn(deps: TurnDeps, input: TurnInput, events: TurnEvents = silentEvents): Promise<TurnResult> {
  const { config, db, logger } = deps;
  // Read with the turn held: the previous turn's answer is part of this one's context.
  const [[analysis], history, [org]] = await db.batch([
    db
      .select({ summary: analyses.summary, insights: analyses.insights })
      .from(analyses)
      .where(and(eq(analyses.sessionId, input.sessionId), eq(analyses.status, "succeeded")))
      .orderBy(desc(analyses.createdAt), desc(analyses.id))
      .limit(1),
    recentMessages(db, input.sessionId, HISTORY_MESSAGES),
    db.select({ policy: organizations.llmDataPolicy }).from(organizations).where(eq(organizations.id, input.dataset.orgId)).limit(1),
  ]);
  const policy = org?.policy ?? DEFAULT_DATA_POLICY;

  let answer: string;
  let records: ToolCallRecord[];
  let usage: TurnResult["usage"] = { promptTokens: null, completionTokens: null };
  if (input.engine === "openai") {
    const messages: ModelMessage[] = chatContext({ ...input.dataset, policy }, analysis ?? null, history, input.question);
    const turn = await modelTurn(deps, input, messages, policy, events);
    answer = turn.text;
    usage = turn.usage;
    records = turn.records;
  } else {
    const ctx: ToolContext = {
      config,
      logger,
      dataset: input.dataset,
      columns: input.dataset.profile.columns.map(({ name, type }) => ({ name, type })),
    };
    const turn = await statisticalTurn(ctx, input.question, input.dataset, analysis ?? null, events);
    answer = turn.answer;
    records = turn.records;
    for (const piece of answerPieces(answer)) events.delta(piece);
  }

  const model = input.engine === "openai" ? config.OPENAI_MODEL : null;
  const { id, version, sha256 } = input.dataset;
  const grounding: ChatGrounding = { dataset: { id, version, sha256 }, policy, toolCalls: records };
  const saved = await saveTurn(db, {
    sessionId: input.sessionId,
    userId: input.userId,
    question: input.question,
    answer,
    engine: input.engine,
    model,
    completionTokens: usage.completionTokens,
    grounding,
  });
  // In order: the room's log is the live transcript.
  await publish(config, logger, input.sessionId, "message", presentMessage(saved.user));
  await publish(config, logger, input.sessionId, "message", presentMessage(saved.assistant));
  return { ...saved, engine: input.engine, model, usage };
}
