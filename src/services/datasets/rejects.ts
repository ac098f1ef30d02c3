// The reject report of an upload under onError=skip: every left-out row counted, the first MAX_LISTED kept with their raw text.
import type { RejectedRow, RejectReason } from "../../db/dataset-documents.ts";

export type { RejectedRow, RejectReason };

/** Rows listed in a report; past this only the count grows (a report stays under about 1 MB). */
export const MAX_LISTED = 1_000;
/** The raw text kept of a rejected row, in UTF-8 bytes. */
export const MAX_RAW_BYTES = 1024;

const lenient = new TextDecoder();
const encoder = new TextEncoder();

/** Bytes start…end as text, cut at MAX_RAW_BYTES on a character boundary (never half a character). */
export function rawOfBytes(bytes: Uint8Array, start: number, end: number): string {
  let cut = Math.min(end, start + MAX_RAW_BYTES);
  // A UTF-8 continuation byte (10xxxxxx) at the cut means a character runs across it: cut before that character.
  if (cut < end) while (cut > start && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return lenient.decode(bytes.subarray(start, cut));
}

/** A scanned CSV record's bytes (see RecordSink) without its line break, cut as rawOfBytes cuts. */
export function rawOfRecord(bytes: Uint8Array, start: number, end: number): string {
  let last = end;
  while (last > start && (bytes[last - 1] === 10 || bytes[last - 1] === 13)) last--;
  return rawOfBytes(bytes, start, last);
}

/** Text cut at MAX_RAW_BYTES of UTF-8. */
export function rawOfText(text: string): string {
  if (text.length * 3 <= MAX_RAW_BYTES) return text;
  const bytes = encoder.encode(text.slice(0, MAX_RAW_BYTES));
  return rawOfBytes(bytes, 0, bytes.length);
}

/** Receives each rejected row; `raw` is only called for a row that will be listed (making it costs a copy). */
export type RejectSink = (line: number, column: number | null, reason: RejectReason, raw: () => string) => void;

export class RejectLog {
  count = 0;
  readonly listed: RejectedRow[] = [];

  /** A log that goes on from `count` and `listed` (the report so far of a file profiled in segments). */
  static restored({ count, listed }: { count: number; listed: RejectedRow[] }): RejectLog {
    const log = new RejectLog();
    log.count = count;
    log.listed.push(...listed);
    return log;
  }

  readonly add: RejectSink = (line, column, reason, raw) => {
    this.count++;
    if (this.listed.length < MAX_LISTED) this.listed.push({ line, column, reason, raw: raw() });
  };
}
