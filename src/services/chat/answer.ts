// One chat turn once the session's turn is held: read the context, answer (model or statistical engine), save both messages, publish them.
import { and, desc, eq } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { analyses } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { ApiError } from "../../lib/problem.ts";
import { publish } from "../../durable-objects/session-room/room.ts";
import type { DatasetContext } from "../analysis/prompt.ts";
import type { Engine } from "../analysis/run.ts";
import { streamCompletion, type Usage } from "../llm/model.ts";
import { CHAT_TOKENS, chatContext, HISTORY_MESSAGES } from "./context.ts";
import { answerPieces, statisticalAnswer } from "./statistical-answer.ts";
import { presentMessage, recentMessages, saveTurn, type StoredMessage } from "./transcript.ts";

export interface TurnDeps {
  config: Config;
  db: Database;
  logger: Logger;
}

export interface TurnInput {
  sessionId: string;
  userId: string;
  dataset: DatasetContext;
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

/**
 * Answers `input.question`, streaming the answer through `onDelta`. Nothing is saved unless the
 * answer completes; then the question and answer are saved together and published to the room.
 * Rejects with an ApiError (MODEL_TIMEOUT, MODEL_ERROR, MODEL_UNAVAILABLE, MODEL_OUTPUT_INVALID).
 */
export async function answerTurn({ config, db, logger }: TurnDeps, input: TurnInput, onDelta: (text: string) => void): Promise<TurnResult> {
  // Read with the turn held: the previous turn's answer is part of this one's context.
  const [[analysis], history] = await db.batch([
    db
      .select({ summary: analyses.summary, insights: analyses.insights })
      .from(analyses)
      .where(and(eq(analyses.sessionId, input.sessionId), eq(analyses.status, "succeeded")))
      .orderBy(desc(analyses.createdAt), desc(analyses.id))
      .limit(1),
    recentMessages(db, input.sessionId, HISTORY_MESSAGES),
  ]);

  let answer: string;
  let usage: TurnResult["usage"] = { promptTokens: null, completionTokens: null };
  if (input.engine === "openai") {
    const messages = chatContext(input.dataset, analysis ?? null, history, input.question);
    const completion: { text: string; usage: Usage } = await streamCompletion(
      config,
      { messages, timeoutMs: config.OPENAI_TIMEOUT_MS, maxTokens: CHAT_TOKENS.answer, traceparent: input.traceparent },
      (text) => onDelta(text),
    );
    answer = completion.text;
    usage = completion.usage;
    if (!answer.trim()) throw new ApiError(502, { code: "MODEL_OUTPUT_INVALID", detail: "The model returned an empty answer." });
  } else {
    answer = statisticalAnswer(input.question, { name: input.dataset.name, rowCount: input.dataset.rowCount, profile: input.dataset.profile }, analysis ?? null);
    for (const piece of answerPieces(answer)) onDelta(piece);
  }

  const model = input.engine === "openai" ? config.OPENAI_MODEL : null;
  const saved = await saveTurn(db, {
    sessionId: input.sessionId,
    userId: input.userId,
    question: input.question,
    answer,
    engine: input.engine,
    model,
    completionTokens: usage.completionTokens,
  });
  // In order: the room's log is the live transcript.
  await publish(config, logger, input.sessionId, "message", presentMessage(saved.user));
  await publish(config, logger, input.sessionId, "message", presentMessage(saved.assistant));
  return { ...saved, engine: input.engine, model, usage };
}
