// Server-sent events framing (the WHATWG event-stream format), for streams built outside Hono's streamSSE.

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
