// Server-sent events: responses that stream events (through Hono's streamSSE), and the framing for streams built without it.
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";

export interface SseMessage {
  event?: string;
  data: string;
  id?: string;
}

/** One event; multi-line data becomes several `data:` lines, as the format requires. */
export function sseEvent({ event, data, id }: SseMessage): string {
  let text = "";
  if (event) text += `event: ${event}\n`;
  for (const line of data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  if (id !== undefined) text += `id: ${id}\n`;
  return `${text}\n`;
}

/** A comment line: ignored by clients, but it keeps the connection busy. */
export const sseComment = (text: string) => `: ${text}\n\n`;

/** True when the client asked for an event stream. */
export const wantsEventStream = (accept: string | undefined) => /\btext\/event-stream\b/i.test(accept ?? "");

export type SendEvent = (event: string, data: unknown) => Promise<void>;

/**
 * An event-stream response: `run` sends events (JSON data), which go out in order with a heartbeat
 * comment every `heartbeatSeconds`. Once the client has gone, sending does nothing and `run`
 * carries on, so the work it does is finished and saved for everyone else.
 */
export function eventStream(c: Context, heartbeatSeconds: number, run: (send: SendEvent) => Promise<void>): Response {
  return streamSSE(c, async (stream) => {
    let open = true;
    let sending: Promise<unknown> = Promise.resolve();
    stream.onAbort(() => {
      open = false;
    });
    // One chain for events and heartbeats, so neither overtakes the other; a failed write means the client left.
    const enqueue = (write: () => Promise<unknown>) =>
      (sending = sending
        .then(() => (open ? write() : undefined))
        .catch(() => {
          open = false;
        }));
    const send: SendEvent = async (event, data) => {
      await enqueue(() => stream.writeSSE({ event, data: JSON.stringify(data) }));
    };
    const heartbeat = setInterval(() => void enqueue(() => stream.write(": heartbeat\n\n")), heartbeatSeconds * 1000);
    try {
      await run(send);
    } finally {
      clearInterval(heartbeat);
      await sending;
    }
  });
}
