// W3C Trace Context (`traceparent`): the client's trace is kept, our own span id is new, and the header goes on to the model.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceContext {
  traceId: string;
  /** The caller's span (null when this request started the trace). */
  parentId: string | null;
  /** This request's span: what calls it makes name as their parent. */
  spanId: string;
  /** The header to send on outgoing calls (OpenAI, data sources, queued jobs). */
  traceparent: string;
}

const hex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
const allZero = (value: string) => /^0+$/.test(value);

/**
 * The trace a request joins. A valid incoming `traceparent` (version 00, or a later one read as 00 as the spec says; ids not
 * all zero) is continued with its sampled flag; anything else starts a new, sampled trace.
 */
export function traceContext(header: string | undefined): TraceContext {
  const match = TRACEPARENT.exec(header?.trim().toLowerCase() ?? "");
  const valid = match && match[1] !== "ff" && !allZero(match[2]!) && !allZero(match[3]!);
  const traceId = valid ? match[2]! : hex(16);
  const flags = valid ? match[4]! : "01";
  const spanId = hex(8);
  return { traceId, parentId: valid ? match[3]! : null, spanId, traceparent: `00-${traceId}-${spanId}-${flags}` };
}
