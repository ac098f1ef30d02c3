// The session's chat turn, held in its SessionRoom so two tabs cannot interleave one conversation.
import type { Config } from "../../env.ts";
import { describeError, type Logger } from "../../lib/logger.ts";
import { ApiError } from "../../lib/problem.ts";
import { roomFor } from "../../durable-objects/session-room/room.ts";

/** A turn may hold the session this long (the room also caps it), and a request waits this long for one. */
export const TURN_LEASE_MS = 120_000;
export const TURN_WAIT_MS = 30_000;

export interface Turn {
  /** Hands the turn to the next waiter; safe to call more than once, never throws. */
  release(): Promise<void>;
}

/**
 * Waits for the session's turn, in arrival order. `keepAlive` receives a promise that settles once
 * the turn is released: registered with waitUntil before the wait starts, so a client that leaves
 * meanwhile cannot strand a turn the room grants after it left. No turn within TURN_WAIT_MS → 409 CHAT_BUSY.
 */
export async function holdTurn(config: Config, logger: Logger, sessionId: string, keepAlive: (done: Promise<void>) => void): Promise<Turn> {
  const room = roomFor(config, sessionId);
  let finished!: () => void;
  keepAlive(new Promise<void>((resolve) => (finished = resolve)));
  let token: string | null;
  try {
    token = await room.acquireTurn(TURN_LEASE_MS, TURN_WAIT_MS);
  } catch (error) {
    finished();
    throw error;
  }
  if (!token) {
    finished();
    throw new ApiError(409, {
      code: "CHAT_BUSY",
      detail: `Another chat turn in this session did not finish within ${TURN_WAIT_MS / 1000} s; retry when it has.`,
      headers: { "Retry-After": "5" },
    });
  }
  let held = true;
  return {
    async release() {
      if (!held) return;
      held = false;
      try {
        await room.releaseTurn(token);
      } catch (error) {
        // The lease runs out on its own; until then the next turn waits.
        logger.warn("chat turn release failed", { sessionId, ...describeError(error) });
      } finally {
        finished();
      }
    },
  };
}
