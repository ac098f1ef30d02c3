// The statistical engine's chat answer (no model): the question shapes it can compute ("average X by Y", "how many rows where …",
// "trend of X", "top N Y by X") run as real queries over every row; anything else is answered from the profile, and it says so.
import type { ColumnProfile } from "../datasets/profile/types.ts";
import type { ChartSpec } from "../query/spec.ts";
import type { LatestAnalysis } from "./context.ts";
import type { ToolCallRecord } from "./grounding.ts";
import { statisticalAnswer, type StatisticalChatInput } from "./statistical-answer.ts";
import { runTool, type ToolContext } from "./tools.ts";

interface Located {
  column: ColumnProfile;
  /** The words of the question that named it, as typed. */
  words: string;
  at: number;
  end: number;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A column name as a pattern: its words in order, separated by any run of spaces, `_` or `-` ("unit price" finds "Unit_Price"). */
const namePattern = (name: string) =>
  name
    .trim()
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map(escape)
    .join("[\\s_-]+");

/** Every column the text names as whole words (or their plural), with where; the longer name wins where one contains another. */
export function locateColumns(text: string, columns: ColumnProfile[]): Located[] {
  let rest = text;
  const found: Located[] = [];
  const byLength = [...columns].filter((column) => column.name.trim()).sort((a, b) => b.name.length - a.name.length);
  for (const column of byLength) {
    // A plural counts ("regions" names region).
    const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])${namePattern(column.name)}(?:e?s)?(?![\\p{L}\\p{N}_])`, "iu");
    const match = pattern.exec(rest);
    if (!match) continue;
    found.push({
      column,
      words: text.slice(match.index, match.index + match[0].length),
      at: match.index,
      end: match.index + match[0].length,
    });
    rest = rest.slice(0, match.index) + " ".repeat(match[0].length) + rest.slice(match.index + match[0].length);
  }
  return found.sort((a, b) => a.at - b.at);
}

const numeric = (column: ColumnProfile) => column.type === "integer" || column.type === "number" || column.type === "boolean";
const show = (value: unknown) =>
  typeof value === "number"
    ? Number.isInteger(value)
      ? String(value)
      : String(Number(value.toPrecision(6)))
    : value === null
      ? "(missing)"
      : String(value);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** What was asked, in a form that compiles to one query; or why a question that looks computable is not. */
type Plan =
  | { kind: "average"; measure: ColumnProfile; group: ColumnProfile; named: Located[] }
  | { kind: "count"; filter: { column: ColumnProfile; op: string; value: string | number } | null; named: Located[] }
  | { kind: "trend"; measure: ColumnProfile; time: ColumnProfile; named: Located[] }
  | { kind: "top"; n: number; group: ColumnProfile; measure: ColumnProfile | null; aggregate: "sum" | "mean" | "count"; named: Located[] }
  | { kind: "cannot"; reason: string; named: Located[] }
  | null;

const GROUP_WORDS = /\b(?:by|per|for each|across|for every)\b/i;
/** Comparison words, longest first, and the operator each means. */
const OPERATORS: [RegExp, string][] = [
  [/^(?:>=|is at least|at least|no less than|is greater than or equal to)\s*/i, ">="],
  [/^(?:<=|is at most|at most|no more than|is less than or equal to)\s*/i, "<="],
  [/^(?:!=|<>|is not|isn't|not equal to|not)\s*/i, "!="],
  [/^(?:>|is above|above|is over|over|more than|is more than|greater than|is greater than|exceeds)\s*/i, ">"],
  [/^(?:<|is below|below|is under|under|less than|is less than|fewer than)\s*/i, "<"],
  [/^(?:==|=|is equal to|equals|equal to|is)\s*/i, "="],
];

function parseCondition(
  text: string,
  columns: ColumnProfile[],
): { column: ColumnProfile; op: string; value: string | number } | { reason: string } {
  const [first] = locateColumns(text, columns);
  if (!first) return { reason: "the condition after “where” names no column of the dataset" };
  const after = text.slice(first.end).trim();
  for (const [pattern, op] of OPERATORS) {
    const match = pattern.exec(after);
    if (!match) continue;
    const raw = after
      .slice(match[0].length)
      .trim()
      .replace(/[?.!]+$/, "")
      .replace(/^["'“‘](.*)["'”’]$/, "$1")
      .trim();
    if (!raw) return { reason: `the condition on ${first.column.name} has no value` };
    if (numeric(first.column)) {
      const value = Number(raw.replace(/,/g, ""));
      if (!Number.isFinite(value)) return { reason: `${first.column.name} holds numbers, and “${raw}” is not one` };
      return { column: first.column, op, value };
    }
    if (first.column.type !== "string" && op !== "=" && op !== "!=" && first.column.type !== "datetime")
      return { reason: `${first.column.name} cannot be compared with “${op}”` };
    return { column: first.column, op, value: raw };
  }
  return { reason: `the condition on ${first.column.name} has no comparison I know (is, =, >, <, at least, above, below…)` };
}

export function planQuestion(question: string, columns: ColumnProfile[]): Plan {
  const named = locateColumns(question, columns);
  const lower = question.toLowerCase();
  const groupAt = lower.search(GROUP_WORDS);
  const before = (at: number) => named.filter((entry) => groupAt < 0 || entry.at < at);
  const afterGroup = groupAt < 0 ? [] : named.filter((entry) => entry.at > groupAt);

  const top = /\b(?:top|highest|largest|biggest)\s+(\d{1,3})?/i.exec(question);
  if (top && groupAt >= 0) {
    const n = Math.min(Math.max(Number(top[1] ?? 5), 1), 100);
    const group = named.find((entry) => entry.at > top.index && entry.at < groupAt);
    const aggregate = /\b(?:average|mean|avg)\b/i.test(question)
      ? "mean"
      : /\b(?:count|rows|records|number of)\b/i.test(lower.slice(groupAt)) && !afterGroup.some((e) => numeric(e.column))
        ? "count"
        : "sum";
    const measure = afterGroup.find((entry) => numeric(entry.column));
    if (!group) return { kind: "cannot", reason: "“top N … by …” needs a column to rank between “top” and “by”", named };
    if (aggregate !== "count" && !measure)
      return { kind: "cannot", reason: "“top N … by …” needs a number column after “by” to rank by", named };
    return { kind: "top", n, group: group.column, measure: measure?.column ?? null, aggregate, named };
  }
  if (/\b(?:average|mean|avg)\b/i.test(question) && groupAt >= 0) {
    const measure = before(groupAt).find((entry) => numeric(entry.column));
    const group = afterGroup[0];
    if (!measure) return { kind: "cannot", reason: "an average needs a number column before “by”", named };
    if (!group) return { kind: "cannot", reason: "“average … by …” needs a column to group by after “by”", named };
    return { kind: "average", measure: measure.column, group: group.column, named };
  }
  if (/\bhow many\b|\bcount (?:of )?(?:the )?(?:rows|records)\b|\bnumber of (?:rows|records)\b/i.test(question)) {
    const where = /\b(?:where|with|whose|having)\b/i.exec(question);
    if (!where) return { kind: "count", filter: null, named };
    const condition = parseCondition(question.slice(where.index + where[0].length), columns);
    if ("reason" in condition) return { kind: "cannot", reason: condition.reason, named };
    return { kind: "count", filter: condition, named };
  }
  if (/\btrend\b|\bover time\b/i.test(question)) {
    const measure = named.find((entry) => numeric(entry.column));
    const time = named.find((entry) => entry.column.type === "datetime")?.column ?? columns.find((column) => column.type === "datetime");
    if (!measure) return { kind: "cannot", reason: "a trend needs a number column to follow", named };
    if (!time) return { kind: "cannot", reason: "the dataset has no date column to follow it over", named };
    return { kind: "trend", measure: measure.column, time, named };
  }
  if (/\b(?:average|mean|avg)\b/i.test(question)) {
    const measure = named.find((entry) => numeric(entry.column));
    if (measure) return { kind: "average", measure: measure.column, group: measure.column, named };
    return { kind: "cannot", reason: "an average needs a number column", named };
  }
  return null;
}

/** The period for a trend: days over up to three months, weeks up to two years, months beyond. */
function trendUnit(time: ColumnProfile): "day" | "week" | "month" {
  const span = Date.parse(String(time.max)) - Date.parse(String(time.min));
  if (!Number.isFinite(span)) return "month";
  const days = span / 86_400_000;
  return days <= 92 ? "day" : days <= 730 ? "week" : "month";
}

const HOW_TO_ASK =
  "I can compute: “average <number column> by <column>”, “how many rows where <column> is / > / < <value>”, “trend of <number column>” and “top 5 <column> by <number column>”.";

export interface StatisticalTurn {
  answer: string;
  records: ToolCallRecord[];
}

/**
 * Answers `question` with real queries when it has a shape the engine knows, naming the words it read as columns; otherwise
 * from the profile (statisticalAnswer), saying plainly what it could not compute.
 */
export async function statisticalTurn(
  ctx: ToolContext,
  question: string,
  input: StatisticalChatInput,
  analysis: LatestAnalysis | null,
  events: {
    toolCall(call: { id: string; name: string; arguments: unknown }): void;
    toolResult(record: Omit<ToolCallRecord, "arguments">): void;
  },
): Promise<StatisticalTurn> {
  const plan = planQuestion(question, input.profile.columns);
  const note = "(Statistical engine: computed by SQL over every row of the dataset, without a language model.)";
  if (!plan) return { answer: statisticalAnswer(question, input, analysis), records: [] };
  const recognised =
    plan.named.length > 0
      ? `Columns recognised: ${plan.named.map((entry) => `“${entry.words}” → ${entry.column.name}`).join(", ")}.`
      : "I recognised no column of the dataset in the question.";
  if (plan.kind === "cannot") {
    return { answer: `I can't answer that with a query: ${plan.reason}. ${recognised}\n\n${HOW_TO_ASK}`, records: [] };
  }

  const records: ToolCallRecord[] = [];
  const run = async (name: "query_dataset" | "chart", args: unknown) => {
    const id = `stat_${records.length + 1}`;
    events.toolCall({ id, name, arguments: args });
    const record = await runTool(ctx, id, name, JSON.stringify(args));
    records.push(record);
    const { arguments: _args, ...shown } = record;
    events.toolResult(shown);
    return record;
  };
  const failure = (record: ToolCallRecord) =>
    record.error?.code === "DATASET_NOT_READY"
      ? "The dataset's queryable copy is not ready yet (it is still loading, or its load failed), so I cannot compute this now; ask again in a moment."
      : `The query failed: ${record.error?.detail ?? "no result"}`;
  const done = (lines: string[]) => ({ answer: `${recognised}\n\n${lines.join("\n")}\n\n${note}`, records });

  if (plan.kind === "average" && plan.group === plan.measure) {
    const record = await run("chart", { spec: { encoding: { y: { field: plan.measure.name, aggregate: "mean" } } } satisfies ChartSpec });
    if (!record.result) return done([failure(record)]);
    return done([
      `The average of **${plan.measure.name}** over all ${plural(input.rowCount, "row")} is ${show(record.result.rows[0]?.[0] ?? null)}.`,
    ]);
  }
  if (plan.kind === "average" || plan.kind === "top") {
    const shown = plan.kind === "top" ? plan.n : 20;
    const aggregate = plan.kind === "top" ? plan.aggregate : "mean";
    const measure = plan.kind === "top" ? plan.measure : plan.measure;
    const y = aggregate === "count" || !measure ? { aggregate: "count" as const } : { field: measure.name, aggregate };
    const spec: ChartSpec = { encoding: { x: { field: plan.group.name }, y }, sort: { channel: "y", order: "desc" }, limit: shown + 1 };
    const record = await run("chart", { spec });
    if (!record.result) return done([failure(record)]);
    const rows = record.result.rows;
    const what = aggregate === "count" ? "rows" : `${aggregate === "mean" ? "average" : "total"} **${measure!.name}**`;
    const head =
      plan.kind === "top"
        ? `Top ${Math.min(shown, rows.length)} **${plan.group.name}** by ${what}:`
        : `Average **${measure!.name}** by **${plan.group.name}**, highest first${rows.length > shown ? ` (the ${shown} highest groups)` : ""}:`;
    return done([
      head,
      ...rows.slice(0, shown).map((row, i) => `${plan.kind === "top" ? `${i + 1}.` : "-"} ${show(row[0])}: ${show(row[1])}`),
    ]);
  }
  if (plan.kind === "count") {
    const spec: ChartSpec = {
      encoding: { y: { aggregate: "count" } },
      ...(plan.filter && (plan.filter.column.type !== "string" || typeof plan.filter.value === "number")
        ? { filter: [{ field: plan.filter.column.name, op: plan.filter.op as "=", value: plan.filter.value }] }
        : {}),
    };
    // Text is compared without regard to case ("north" finds "North"), which a spec's `=` would not do.
    const record =
      plan.filter && plan.filter.column.type === "string" && typeof plan.filter.value === "string"
        ? await run("query_dataset", {
            sql: `SELECT count(*) AS "count" FROM "dataset" WHERE lower("dataset"."${plan.filter.column.name.replaceAll('"', '""')}") ${plan.filter.op === "!=" ? "<>" : plan.filter.op} lower('${plan.filter.value.replaceAll("'", "''")}')`,
          })
        : await run("chart", { spec });
    if (!record.result) return done([failure(record)]);
    const count = Number(record.result.rows[0]?.[0] ?? 0);
    if (!plan.filter) return done([`The dataset has **${count}** ${count === 1 ? "row" : "rows"}.`]);
    return done([
      `**${count}** of ${plural(input.rowCount, "row")} have ${plan.filter.column.name} ${plan.filter.op} ${show(plan.filter.value)}.`,
    ]);
  }
  // A trend: the mean per period over the whole range, its first and last periods, and the direction of a least-squares line.
  const unit = trendUnit(plan.time);
  const spec: ChartSpec = {
    encoding: { x: { field: plan.time.name, timeUnit: unit }, y: { field: plan.measure.name, aggregate: "mean" } },
    sort: { channel: "x", order: "asc" },
  };
  const record = await run("chart", { spec });
  if (!record.result) return done([failure(record)]);
  const points = record.result.rows.filter((row) => row[0] !== null && typeof row[1] === "number") as [string, number][];
  if (points.length < 2)
    return done([`There are fewer than two ${unit}s with a ${plan.time.name} and a ${plan.measure.name}: no trend to show.`]);
  const n = points.length;
  const meanX = (n - 1) / 2;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const slope =
    points.reduce((sum, [, y], x) => sum + (x - meanX) * (y - meanY), 0) / points.reduce((sum, _point, x) => sum + (x - meanX) ** 2, 0);
  const change = slope * (n - 1);
  const direction = Math.abs(change) <= Math.abs(meanY) * 0.05 ? "roughly flat" : change > 0 ? "rising" : "falling";
  const [first, last] = [points[0]!, points[n - 1]!];
  const high = points.reduce((best, point) => (point[1] > best[1] ? point : best));
  const low = points.reduce((best, point) => (point[1] < best[1] ? point : best));
  return done([
    `Average **${plan.measure.name}** per ${unit} of **${plan.time.name}**, over ${plural(n, unit)}: ${direction} (a least-squares line moves ${show(change)} from first to last ${unit}).`,
    `- first ${unit} (${first[0].slice(0, 10)}): ${show(first[1])}`,
    `- last ${unit} (${last[0].slice(0, 10)}): ${show(last[1])}`,
    `- highest: ${show(high[1])} (${high[0].slice(0, 10)}); lowest: ${show(low[1])} (${low[0].slice(0, 10)})`,
  ]);
}
