// The shape of chat_messages.grounding (jsonb): what a chat answer rests on. Types only, so the schema imports nothing from the
// services; src/services/chat/grounding.ts builds these records.

/** A result column's type, as the store reports it (ResultColumnType in src/durable-objects/dataset-store/query.ts; repeated so the schema needs no workerd types). */
type ResultColumnType = "integer" | "number" | "boolean" | "datetime" | "string" | "blob" | "null" | "mixed";

export type ToolName = "query_dataset" | "chart";

/** A query's result as kept with the message: the first `SAVED_RESULT_ROWS` rows, and how many there were. */
export interface SavedResult {
  columns: { name: string; type: ResultColumnType }[];
  rows: unknown[][];
  rowCount: number;
  /** True when the store cut the result at QUERY_MAX_ROWS or the message kept fewer rows than it had. */
  truncated: boolean;
}

export interface ToolCallRecord {
  /** The model's tool call id (`call_…`), or `stat_<n>` for the statistical engine's own queries. */
  id: string;
  name: ToolName;
  /** The arguments as sent (parsed JSON, or the raw text when it was not JSON). */
  arguments: unknown;
  /** The statement run on the store (a spec's compiled SQL), or null when it never ran. */
  sql: string | null;
  params: (string | number | null)[];
  result: SavedResult | null;
  /** Why the call did not produce a result (bad SQL, a spec the dataset cannot answer, the call cap). */
  error: { code: string; detail: string } | null;
}

export interface ChatGrounding {
  dataset: { id: string; version: number; sha256: string };
  /** The organization's llmDataPolicy when the answer was given: what the model was shown of these results. */
  policy: "schema" | "sample" | "full";
  toolCalls: ToolCallRecord[];
}
