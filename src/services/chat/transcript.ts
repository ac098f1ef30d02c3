// A session's chat transcript in Postgres: how a message is shown, reading it oldest first by keyset, saving a turn in one batch.
import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { chatMessages } from "../../db/schema.ts";
import type { Cursor } from "../../lib/pagination.ts";
import type { Engine } from "../analysis/run.ts";
import type { ChatGrounding } from "./grounding.ts";

export type StoredMessage = typeof chatMessages.$inferSelect;

export const presentMessage = (message: StoredMessage) => ({
  id: message.id,
  sessionId: message.sessionId,
  role: message.role,
  content: message.content,
  engine: message.engine,
  model: message.model,
  tokens: message.tokens,
  grounding: message.grounding ?? null,
  createdBy: message.createdBy,
  createdAt: message.createdAt.toISOString(),
});

/** The cursor of a message: its place in the (created_at, id) order. */
export const messageCursor = (message: StoredMessage): Cursor => ({ at: message.createdAt, id: message.id });

/**
 * Up to `limit` messages after `after`, oldest first: a transcript reads top to bottom, and new
 * messages are always stamped after the last one (see saveTurn), so a reader never misses one.
 */
export function transcriptPage(db: Database, sessionId: string, after: Cursor | undefined, limit: number) {
  return db
    .select()
    .from(chatMessages)
    .where(
      and(
        eq(chatMessages.sessionId, sessionId),
        after
          ? sql`(${chatMessages.createdAt}, ${chatMessages.id}) > (${after.at.toISOString()}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(asc(chatMessages.createdAt), asc(chatMessages.id))
    .limit(limit);
}

/** The newest `limit` messages, newest first: what the model's context is filled from. */
export const recentMessages = (db: Database, sessionId: string, limit: number) =>
  db
    .select()
    .from(chatMessages)
    .where(eq(chatMessages.sessionId, sessionId))
    .orderBy(desc(chatMessages.createdAt), desc(chatMessages.id))
    .limit(limit);

export interface TurnToSave {
  sessionId: string;
  userId: string;
  question: string;
  answer: string;
  engine: Engine;
  model: string | null;
  completionTokens: number | null;
  /** The answer's dataset version and queries. */
  grounding: ChatGrounding;
}

/**
 * Saves the question and its answer in one transaction. Each is stamped at least 1 ms after the
 * session's last message (by the database clock), so the transcript's order is the order of turns
 * even when two land within the same millisecond.
 */
export async function saveTurn(db: Database, turn: TurnToSave): Promise<{ user: StoredMessage; assistant: StoredMessage }> {
  const next = sql`greatest(now(), (SELECT max(created_at) + interval '1 millisecond' FROM chat_messages WHERE session_id = ${turn.sessionId}))`;
  const [[user], [assistant]] = await db.batch([
    db
      .insert(chatMessages)
      .values({
        id: crypto.randomUUID(),
        sessionId: turn.sessionId,
        role: "user",
        content: turn.question,
        createdBy: turn.userId,
        createdAt: next,
      })
      .returning(),
    db
      .insert(chatMessages)
      .values({
        id: crypto.randomUUID(),
        sessionId: turn.sessionId,
        role: "assistant",
        content: turn.answer,
        engine: turn.engine,
        model: turn.model,
        tokens: turn.completionTokens,
        grounding: turn.grounding,
        // Written by the engine, not a person: `engine` and `model` say which.
        createdBy: null,
        createdAt: next,
      })
      .returning(),
  ]);
  return { user: user!, assistant: assistant! };
}
