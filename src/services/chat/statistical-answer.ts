// The statistical engine's chat answer: deterministic, from the profile and the latest analysis, when no model answers.
import type { Insight } from "../analysis/result.ts";
import type { ColumnProfile, Profile } from "../datasets/profile/types.ts";
import type { LatestAnalysis } from "./context.ts";

export interface StatisticalChatInput {
  name: string;
  rowCount: number;
  profile: Profile;
}

/** Columns described at most per answer: more would bury the ones asked about. */
const MAX_COLUMNS = 5;

/** Lower case, with `_`, `-` and runs of spaces as one space: "Unit_Price" matches "unit price". */
const normalize = (text: string) =>
  text
    .toLowerCase()
    .replace(/[\s_-]+/g, " ")
    .trim();
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Columns the message names as whole words; the longer name wins where one contains another ("unit price" over "price"). */
export function mentionedColumns(message: string, columns: ColumnProfile[]): ColumnProfile[] {
  const text = ` ${normalize(message)} `;
  const found: { column: ColumnProfile; at: number }[] = [];
  const byLength = [...columns]
    .filter((column) => normalize(column.name).length > 0)
    .sort((a, b) => normalize(b.name).length - normalize(a.name).length);
  let rest = text;
  for (const column of byLength) {
    const name = normalize(column.name);
    const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${escape(name)}(?![\\p{L}\\p{N}])`, "u");
    const match = pattern.exec(rest);
    if (!match) continue;
    found.push({ column, at: match.index });
    // Blank it out so a shorter name inside it is not counted again.
    rest = rest.slice(0, match.index) + " ".repeat(name.length) + rest.slice(match.index + name.length);
  }
  return found
    .sort((a, b) => a.at - b.at)
    .slice(0, MAX_COLUMNS)
    .map((entry) => entry.column);
}

const number = (value: number) => (Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4))));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const show = (value: unknown) => (typeof value === "number" ? number(value) : String(value));

function describeColumn(column: ColumnProfile, rowCount: number, insights: Insight[]): string {
  const present = column.count - column.nulls;
  const parts = [
    `**${column.name}** (${column.type}): ${plural(present, "value")}, ${column.nulls} missing${rowCount > 0 ? ` (${number((column.nulls / rowCount) * 100)}%)` : ""}, about ${column.distinct} distinct.`,
  ];
  if (column.mean !== null && column.min !== null && column.max !== null) {
    const q = column.quantiles ?? {};
    parts.push(
      `It ranges from ${show(column.min)} to ${show(column.max)}; mean ${number(column.mean)}${q.p50 !== undefined ? `, median about ${number(q.p50)}` : ""}${column.stddev !== null ? `, standard deviation ${number(column.stddev)}` : ""}.`,
    );
    if (q.p25 !== undefined && q.p75 !== undefined)
      parts.push(`The middle half of the values lies between ${number(q.p25)} and ${number(q.p75)}.`);
  } else if (column.type === "datetime" && column.min !== null) {
    parts.push(`It runs from ${show(column.min)} to ${show(column.max)}.`);
  }
  if (column.topValues.length > 0 && column.mean === null) {
    parts.push(
      `Most common: ${column.topValues
        .slice(0, 5)
        .map((top) => `${top.value === "" ? "(empty)" : top.value} (${top.count})`)
        .join(", ")}.`,
    );
  }
  const noted = insights.filter((insight) => insight.columns?.includes(column.name)).slice(0, 3);
  if (noted.length > 0) parts.push(`The latest analysis noted: ${noted.map((insight) => insight.title).join("; ")}.`);
  return parts.join(" ");
}

function overview(input: StatisticalChatInput, analysis: LatestAnalysis | null, insights: Insight[]): string {
  const { columns } = input.profile;
  const listed = columns
    .slice(0, 20)
    .map((column) => `${column.name} (${column.type})`)
    .join(", ");
  const lines = [
    `"${input.name}" has ${plural(input.rowCount, "row")} and ${plural(columns.length, "column")}${columns.length > 0 ? `: ${listed}${columns.length > 20 ? `, and ${columns.length - 20} more` : ""}` : ""}.`,
  ];
  if (analysis?.summary) {
    lines.push("", `Latest analysis: ${analysis.summary}`);
    if (insights.length > 0) lines.push(...insights.slice(0, 5).map((insight) => `- ${insight.title}`));
  } else {
    lines.push("", "No analysis has been run yet; run one for insights and chart suggestions.");
  }
  if (columns[0]) lines.push("", `Ask about a column by name (for example "${columns[0].name}") for its statistics.`);
  return lines.join("\n");
}

/**
 * Answers from the profile: the statistics of each column the message names, else an overview of
 * the dataset and its latest analysis. Deterministic: the same question on the same data gives the same answer.
 */
export function statisticalAnswer(message: string, input: StatisticalChatInput, analysis: LatestAnalysis | null): string {
  const insights = ((analysis?.insights ?? []) as Insight[]).filter((insight) => insight && typeof insight.title === "string");
  const columns = mentionedColumns(message, input.profile.columns);
  const note = "(Statistical engine: computed from the dataset profile, without a language model.)";
  if (columns.length === 0) return `${overview(input, analysis, insights)}\n\n${note}`;
  return `${columns.map((column) => describeColumn(column, input.rowCount, insights)).join("\n\n")}\n\n${note}`;
}

/** The answer in pieces (line by line), so a stream shows it arriving like a model's. */
export const answerPieces = (answer: string) => answer.split(/(?<=\n)/);
