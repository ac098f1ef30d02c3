// Reaching a session's room from the Worker: its stub, and publishing that never fails the caller's work.
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { describeError } from "../../lib/logger.ts";
import type { SessionRoom } from "./session-room.ts";

export const roomFor = (config: Config, sessionId: string) =>
  (config.SESSION_ROOMS as unknown as DurableObjectNamespace<SessionRoom>).get(config.SESSION_ROOMS.idFromName(sessionId));

/**
 * Appends an event to the session's log and fans it out. The room is the live view, not the
 * record (Postgres is): a failure is logged and the analysis or chat goes on.
 */
export async function publish(config: Config, logger: Logger, sessionId: string, type: string, data: unknown): Promise<void> {
  try {
    await roomFor(config, sessionId).publish(type, data);
  } catch (error) {
    logger.warn("session room publish failed", { sessionId, type, ...describeError(error) });
  }
}
