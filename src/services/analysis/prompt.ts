// Prompts for the model, built from the dataset's profile and sample (never the raw file) within a token budget.
import type { LlmDataPolicy } from "../llm/data-policy.ts";
import type { ChatMessage } from "../llm/model.ts";
import type { ColumnProfile, Profile } from "../datasets/profile/types.ts";
import { chartTypes, insightKinds } from "./result.ts";

/** About four characters a token for English and JSON: close enough to keep a prompt inside its budget. */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

export interface DatasetContext {
  name: string;
  rowCount: number;
  profile: Profile;
  sample: Record<string, unknown>[];
  /** The organization's llmDataPolicy (default `sample`): with `schema` no cell value is described, only names, types and counts. */
  policy?: LlmDataPolicy;
}

const round = (value: number | null) => (value === null ? null : Number(value.toPrecision(6)));
const clip = (value: unknown, max = 80) => {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text && text.length > max ? `${text.slice(0, max)}…` : text;
};

/** A column with no cell value: min, max, quantiles and top values are values of the data; the mean can be one too. */
const describeShape = (column: ColumnProfile) =>
  JSON.stringify({ name: column.name, type: column.type, nulls: column.nulls, distinct: column.distinct });

function describeColumn(column: ColumnProfile, topValues: number) {
  return JSON.stringify({
    name: column.name,
    type: column.type,
    nulls: column.nulls,
    distinct: column.distinct,
    ...(column.mean !== null
      ? { min: column.min, max: column.max, mean: round(column.mean), stddev: round(column.stddev), quantiles: column.quantiles }
      : { min: clip(column.min), max: clip(column.max) }),
    ...(topValues > 0 ? { top: column.topValues.slice(0, topValues).map((top) => [clip(top.value, 40), top.count]) } : {}),
  });
}

/**
 * The dataset as the model sees it: the profile column by column, then as many sample rows as fit.
 * Past the budget, top values go first, then columns beyond those that fit (and the prompt says so).
 */
export function describeDataset(dataset: DatasetContext, budgetTokens: number): string {
  const head = `Dataset "${clip(dataset.name, 200)}": ${dataset.rowCount} rows, ${dataset.profile.columns.length} columns.\nColumns (JSON, one per line):\n`;
  let lines: string[] = [];
  for (const topValues of [5, 0]) {
    lines = dataset.profile.columns.map((column) =>
      dataset.policy === "schema" ? describeShape(column) : describeColumn(column, topValues),
    );
    if (estimateTokens(head + lines.join("\n")) <= budgetTokens * 0.75) break;
  }
  let text = head;
  let shown = 0;
  for (const line of lines) {
    if (estimateTokens(text + line) > budgetTokens * 0.75) break;
    text += `${line}\n`;
    shown++;
  }
  if (shown < lines.length) text += `(${lines.length - shown} more columns not shown)\n`;
  if (dataset.policy === "schema")
    return `${text}No values are shown: the organization's data policy allows column names, types and counts only.\n`;
  text += "Sample rows:\n";
  for (const row of dataset.sample.slice(0, 20)) {
    const line = JSON.stringify(
      Object.fromEntries(
        Object.entries(row)
          .slice(0, 40)
          .map(([key, value]) => [key, clip(value, 60)]),
      ),
    );
    if (estimateTokens(text + line) > budgetTokens) break;
    text += `${line}\n`;
  }
  return text;
}

const channel = `{"field"?: column, "type"?: "quantitative"|"nominal"|"ordinal"|"temporal", "aggregate"?: "count"|"sum"|"mean"|"median"|"min"|"max"|"distinct", "bin"?: {"maxbins": 2-50}, "timeUnit"?: "year"|"quarter"|"month"|"week"|"day"|"hour"}`;

const analysisInstructions = `You are a careful data analyst. Analyse the dataset described below from its column profile and sample rows.
Answer with ONE JSON object and nothing else, shaped exactly:
{"summary": string (2-5 sentences),
 "insights": [{"kind": one of ${insightKinds.map((kind) => `"${kind}"`).join("|")}, "title": string, "detail": string, "columns": [column names], "importance": "low"|"medium"|"high"}] (3-8 items),
 "charts": [{"type": one of ${chartTypes.map((type) => `"${type}"`).join("|")}, "title": string, "description": string, "spec": {"encoding": {"x"?: CHANNEL, "y"?: CHANNEL, "color"?: CHANNEL, "theta"?: CHANNEL}, "filter"?: [{"field": column, "op": "="|"!="|"<"|"<="|">"|">="|"in"|"between"|"isNull", "value": value}], "sort"?: {"channel": "x"|"y"|"color"|"theta", "order": "asc"|"desc"}, "limit"?: 1-500}}] (1-4 items)}
where CHANNEL is ${channel}.
Do not write chart data: the server runs each spec over every row of the dataset and draws the chart from the result. Channels with an
aggregate are computed per group of the other channels; a count of rows is {"aggregate": "count"} without a field; sum, mean and median
need a numeric column; bin needs a numeric column and timeUnit a datetime one. A spec naming a column the profile does not list is dropped.
Use only column names that appear in the profile. Base every claim on the numbers given; do not invent values.`;

/** The messages for an analysis, within `budgetTokens` (the dataset description gets what the instructions leave). */
export function analysisMessages(dataset: DatasetContext, question: string | null, budgetTokens: number): ChatMessage[] {
  const ask = question ? `\nFocus on this question: ${clip(question, 2_000)}` : "";
  const room = budgetTokens - estimateTokens(analysisInstructions + ask);
  return [
    { role: "system", content: analysisInstructions },
    { role: "user", content: `${describeDataset(dataset, room)}${ask}` },
  ];
}

/** Asks once more after an answer failed validation, saying what was wrong. */
export function repairMessages(messages: ChatMessage[], answer: string, problems: string[]): ChatMessage[] {
  return [
    ...messages,
    { role: "assistant", content: clip(answer, 4_000) },
    {
      role: "user",
      content: `That answer is not valid: ${problems.slice(0, 10).join("; ")}. Reply again with only the JSON object in the required shape.`,
    },
  ];
}
