// What a chat answer rests on: the dataset version it read and every query it ran, saved with the message so it can be audited and re-run.

export type { ChatGrounding, SavedResult, ToolCallRecord, ToolName } from "../../db/chat-documents.ts";
import type { SavedResult } from "../../db/chat-documents.ts";

/** Rows of each result kept with the message and shown in `tool_result` events, and the most characters of JSON they may take. */
export const SAVED_RESULT_ROWS = 200;
export const SAVED_RESULT_CHARS = 256 * 1024;

/** The first rows of a result, as many as fit both caps (wide text cells would otherwise make a message of megabytes). */
export function savedResult(result: {
  columns: SavedResult["columns"];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
}): SavedResult {
  const rows = result.rows.slice(0, SAVED_RESULT_ROWS);
  let size = 2;
  let kept = 0;
  for (const row of rows) {
    size += JSON.stringify(row).length + 1;
    if (size > SAVED_RESULT_CHARS) break;
    kept++;
  }
  rows.length = kept;
  return { columns: result.columns, rows, rowCount: result.rowCount, truncated: result.truncated || rows.length < result.rows.length };
}
