// A dataset's event log (its processing and load progress), kept by a room of its own: the session rooms' log, fan-out
// and Last-Event-ID resume, under a name no session id can take.
import { publish, roomFor } from "../../durable-objects/session-room/room.ts";
import type { Config } from "../../env.ts";
import { describeError, type Logger } from "../../lib/logger.ts";

const roomName = (datasetId: string) => `dataset:${datasetId}`;

export const datasetRoom = (config: Config, datasetId: string) => roomFor(config, roomName(datasetId));

/** Appends an event to the dataset's log; a failure is logged, never the job's. */
export const publishDatasetEvent = (config: Config, logger: Logger, datasetId: string, type: string, data: unknown) =>
  publish(config, logger, roomName(datasetId), type, data);

/** Calls `send` at most once per `everyMs` (and always for `force`): progress events, not one per batch. */
export function throttled(everyMs: number, send: () => Promise<void>) {
  let last = 0;
  return async (force = false) => {
    const now = Date.now();
    if (!force && now - last < everyMs) return;
    last = now;
    await send();
  };
}

export interface DatasetProgress {
  phase: string;
  bytesDone: number | null;
  bytesTotal: number | null;
  rowsDone: number | null;
  at: string;
}

const count = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : null);

/** The dataset's last progress event (the job's, about once a second), or null when there is none or the room cannot say. */
export async function lastProgress(config: Config, logger: Logger, datasetId: string): Promise<DatasetProgress | null> {
  try {
    const event = await datasetRoom(config, datasetId).lastEvent("progress");
    if (!event) return null;
    const data = (JSON.parse(event.data) ?? {}) as Record<string, unknown>;
    return {
      phase: typeof data.phase === "string" ? data.phase : "profiling",
      bytesDone: count(data.bytesDone),
      bytesTotal: count(data.bytesTotal),
      rowsDone: count(data.rowsDone),
      at: event.at,
    };
  } catch (error) {
    logger.warn("dataset progress unreadable", { datasetId, ...describeError(error) });
    return null;
  }
}
