// The chat's two tools, `query_dataset(sql)` and `chart(spec)`: their definitions for the model, and running one call on the session's store.
import { z } from "@hono/zod-openapi";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { describeError } from "../../lib/logger.ts";
import { ApiError } from "../../lib/problem.ts";
import type { ToolDefinition } from "../llm/model.ts";
import { queryDataset, type QueryDataset } from "../query/run.ts";
import { ChartSpec, compileSpec, SpecError, type SpecColumn } from "../query/spec.ts";
import { savedResult, type ToolCallRecord, type ToolName } from "./grounding.ts";

/** The ChartSpec's JSON Schema, from the same zod schema the query API validates with (without the `$schema` header, which belongs at the top of a document). */
function specSchema(): Record<string, unknown> {
  const { $schema: _schema, ...schema } = z.toJSONSchema(ChartSpec, { unrepresentable: "any" }) as Record<string, unknown>;
  return schema;
}

export const toolDefinitions: ToolDefinition[] = [
  {
    name: "query_dataset",
    description:
      "Runs one read-only SQLite SELECT over every row of the dataset, in a table named `dataset` whose columns are named as in the profile " +
      '(quote names with double quotes: "unit price"). Datetimes are ISO-8601 UTC text (use strftime/substr), booleans 0/1. Aggregate ' +
      "in SQL (avg, sum, count, GROUP BY, window functions) rather than reading rows; results are capped in rows. No joins of the table with itself.",
    parameters: {
      type: "object",
      properties: { sql: { type: "string", description: "One SELECT (or WITH … SELECT) statement over `dataset`" } },
      required: ["sql"],
      additionalProperties: false,
    },
  },
  {
    name: "chart",
    description:
      "Computes a chart's data over every row from a declarative spec (channels x, y, color, theta with field, aggregate " +
      "count|sum|mean|median|min|max|distinct, bin, timeUnit year|quarter|month|week|day|hour; filter; sort; limit) and returns the points. " +
      'Example: {"encoding":{"x":{"field":"region"},"y":{"field":"price","aggregate":"mean"}},"sort":{"channel":"y","order":"desc"},"limit":10}',
    parameters: {
      type: "object",
      properties: { spec: specSchema() },
      required: ["spec"],
      additionalProperties: false,
    },
  },
];

const QueryArgs = z.strictObject({ sql: z.string().min(1).max(20_000) });
const ChartArgs = z.strictObject({ spec: z.unknown() });

export interface ToolContext {
  config: Config;
  logger: Logger;
  dataset: QueryDataset;
  columns: SpecColumn[];
}

const failed = (
  base: Omit<ToolCallRecord, "result" | "error" | "sql" | "params">,
  code: string,
  detail: string,
  sql: string | null = null,
  params: ToolCallRecord["params"] = [],
): ToolCallRecord => ({
  ...base,
  sql,
  params,
  result: null,
  error: { code, detail },
});

/** A record of a call refused without running (the cap was reached, or an unknown tool). */
export const refusedCall = (id: string, name: string, args: unknown, code: string, detail: string): ToolCallRecord =>
  failed({ id, name: (name === "chart" ? "chart" : "query_dataset") as ToolName, arguments: args }, code, detail);

/** Parses the arguments the model wrote; keeps the raw text when it is not JSON. */
export function parseArguments(text: string): { ok: true; value: unknown } | { ok: false; raw: string } {
  try {
    return { ok: true, value: JSON.parse(text || "{}") };
  } catch {
    return { ok: false, raw: text };
  }
}

/**
 * Runs one tool call against the session's dataset. Never throws for anything the model did wrong (bad SQL, a spec the dataset
 * cannot answer, a store still loading): those come back as the record's `error`, to be handed to the model as the tool's answer.
 */
export async function runTool(ctx: ToolContext, id: string, name: string, argumentsText: string): Promise<ToolCallRecord> {
  const parsed = parseArguments(argumentsText);
  const args = parsed.ok ? parsed.value : parsed.raw;
  if (name !== "query_dataset" && name !== "chart")
    return refusedCall(id, name, args, "UNKNOWN_TOOL", `There is no tool named "${name.slice(0, 100)}"; use query_dataset or chart.`);
  const base = { id, name: name as ToolName, arguments: args };
  if (!parsed.ok) return failed(base, "ARGUMENTS_INVALID", "The arguments are not valid JSON.");

  let sql: string;
  let params: ToolCallRecord["params"] = [];
  if (name === "query_dataset") {
    const checked = QueryArgs.safeParse(parsed.value);
    if (!checked.success) return failed(base, "ARGUMENTS_INVALID", 'Expected {"sql": "SELECT …"}.');
    sql = checked.data.sql;
  } else {
    const checked = ChartArgs.safeParse(parsed.value);
    if (!checked.success) return failed(base, "ARGUMENTS_INVALID", 'Expected {"spec": {…}}.');
    try {
      ({ sql, params } = compileSpec(checked.data.spec as ChartSpec, ctx.columns, { maxLimit: ctx.config.QUERY_MAX_ROWS }));
    } catch (error) {
      if (error instanceof SpecError) return failed(base, "QUERY_INVALID", `The spec cannot run on this dataset: ${error.message}.`);
      throw error;
    }
  }
  try {
    const answer = await queryDataset(ctx.config, ctx.dataset, sql, params);
    return { ...base, sql, params, result: savedResult(answer), error: null };
  } catch (error) {
    if (error instanceof ApiError) return failed(base, error.code, error.detail, sql, params);
    // Not the model's fault (the store's RPC failed): logged for us, told to the model plainly.
    ctx.logger.error("chat tool call failed", { tool: name, ...describeError(error) });
    return failed(base, "QUERY_FAILED", "The query could not be run just now.", sql, params);
  }
}
