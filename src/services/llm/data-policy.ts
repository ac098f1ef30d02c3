// What an organization lets the model see of its data (`llmDataPolicy`): read it, and cut a tool's result down to what the policy allows.
import { eq } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { organizations, type LlmDataPolicy } from "../../db/schema.ts";
import type { SavedResult } from "../chat/grounding.ts";

export type { LlmDataPolicy };
export const DEFAULT_DATA_POLICY: LlmDataPolicy = "sample";

/** Rows of a tool's result the model is sent, by policy (`schema`: none, only the result's shape). */
export const MODEL_RESULT_ROWS: Record<LlmDataPolicy, number> = { schema: 0, sample: 50, full: 200 };
/** A tool message is cut to about this many characters (rows are dropped from the end until it fits). */
const MODEL_RESULT_CHARS = 16_000;

/** The organization's policy; the default for one that is gone (its requests fail elsewhere). */
export async function dataPolicyOf(db: Database, orgId: string): Promise<LlmDataPolicy> {
  const [row] = await db.select({ policy: organizations.llmDataPolicy }).from(organizations).where(eq(organizations.id, orgId)).limit(1);
  return row?.policy ?? DEFAULT_DATA_POLICY;
}

export const withholdNote =
  "Values withheld: this organization's data policy (`schema`) lets the model see column names, types and counts only; the person sees the full result.";

/**
 * The tool message the model receives for a result. With `schema` it carries the result's shape (column names and types, the
 * row count, whether it was cut) and no value at all; otherwise the statement and up to MODEL_RESULT_ROWS[policy] rows.
 */
export function modelViewOfResult(policy: LlmDataPolicy, sql: string, result: SavedResult): string {
  const shape = { columns: result.columns, rowCount: result.rowCount, truncated: result.truncated };
  if (policy === "schema") return JSON.stringify({ sql, ...shape, note: withholdNote });
  const rows = result.rows.slice(0, MODEL_RESULT_ROWS[policy]);
  let text = JSON.stringify({ sql, ...shape, rows, rowsShown: rows.length });
  while (text.length > MODEL_RESULT_CHARS && rows.length > 0) {
    rows.length = rows.length === 1 ? 0 : Math.floor(rows.length / 2);
    text = JSON.stringify({ sql, ...shape, rows, rowsShown: rows.length });
  }
  return text;
}
