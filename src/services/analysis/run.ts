// Runs one analysis with the model (streamed, validated, repaired or retried once) or the statistical engine.
import { JSONParser } from "@streamparser/json";
import type { Config } from "../../env.ts";
import { ApiError } from "../../lib/problem.ts";
import type { ParseOptions } from "../datasets/parsers.ts";
import { readRows } from "../datasets/read-rows.ts";
import { type ChatMessage, streamCompletion, type Usage } from "../llm/model.ts";
import { analysisMessages, type DatasetContext, repairMessages } from "./prompt.ts";
import { AnalysisResult, Chart, Insight } from "./result.ts";
import { statisticalAnalysis } from "./statistical-engine.ts";

export type Engine = "openai" | "statistical";

/** What a running analysis reports, in order: `status`, then each `insight` and `chart` as it is ready. */
export type AnalysisEvent =
  | { type: "status"; data: { status: "running" | "repairing"; engine: Engine; model: string | null } }
  | { type: "insight"; data: Insight & { index: number } }
  | { type: "chart"; data: Chart & { index: number } };

export interface AnalysisInput {
  dataset: DatasetContext & { r2Key: string; parseOptions: ParseOptions };
  question: string | null;
  engine: Engine;
  timeoutMs: number;
  /** Sent to the model as `traceparent`. */
  traceparent?: string;
}

export interface AnalysisOutcome {
  result: AnalysisResult;
  usage: Usage;
  model: string | null;
}

/** The prompt's budget: what the profile and sample may cost before the model answers. */
const PROMPT_TOKENS = 6_000;
const ANSWER_TOKENS = 4_000;
/** Rows the statistical engine reads back from the file for correlations, outliers and trends. */
const ENGINE_ROWS = 5_000;

/**
 * Keeps what names real columns: insights lose unknown column names, charts that read an unknown
 * column are dropped. Returns null when nothing usable is left of `value`.
 */
function repairInsight(value: unknown, columns: Set<string>): Insight | null {
  const parsed = Insight.safeParse(value);
  if (!parsed.success) return null;
  return { ...parsed.data, columns: parsed.data.columns.filter((name) => columns.has(name)) };
}

function repairChart(value: unknown, columns: Set<string>): Chart | null {
  const parsed = Chart.safeParse(value);
  if (!parsed.success) return null;
  const { encoding, dataKeys } = parsed.data;
  const fields = [encoding.x.field, encoding.y?.field, encoding.color?.field].filter((field): field is string => field !== undefined);
  return [...dataKeys, ...fields].every((name) => columns.has(name)) ? parsed.data : null;
}

/** Parses and validates a whole answer; on failure, says what is wrong (for the repair prompt). */
function validate(text: string, columns: Set<string>): { ok: true; result: AnalysisResult } | { ok: false; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text.trim().replace(/^```(?:json)?\s*|\s*```$/g, ""));
  } catch {
    return { ok: false, problems: ["the answer is not valid JSON"] };
  }
  const raw = json as { summary?: unknown; insights?: unknown; charts?: unknown };
  const insights = Array.isArray(raw?.insights) ? raw.insights.map((item) => repairInsight(item, columns)).filter((item) => item !== null) : [];
  const charts = Array.isArray(raw?.charts) ? raw.charts.map((item) => repairChart(item, columns)).filter((item) => item !== null) : [];
  const parsed = AnalysisResult.safeParse({ summary: raw?.summary, insights: insights.slice(0, 20), charts: charts.slice(0, 10) });
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((issue) => `${issue.path.join(".") || "answer"}: ${issue.message}`) };
  if (parsed.data.insights.length === 0) return { ok: false, problems: ["no valid insight naming the dataset's columns"] };
  return { ok: true, result: parsed.data };
}

/** One streamed attempt: insights and charts are reported as soon as each is complete and valid. */
async function attempt(config: Config, messages: ChatMessage[], input: AnalysisInput, columns: Set<string>, emit: (event: AnalysisEvent) => Promise<void>) {
  const parser = new JSONParser({ paths: ["$.insights.*", "$.charts.*"], keepStack: false });
  let reported = Promise.resolve();
  let insights = 0;
  let charts = 0;
  let parsing = true;
  parser.onValue = ({ value, stack }) => {
    const list = stack.at(-1)?.key;
    const item = list === "insights" ? repairInsight(value, columns) : list === "charts" ? repairChart(value, columns) : null;
    if (!item) return;
    const event = (list === "insights" ? { type: "insight", data: { ...item, index: insights++ } } : { type: "chart", data: { ...item, index: charts++ } }) as AnalysisEvent;
    reported = reported.then(() => emit(event));
  };
  parser.onError = () => {
    parsing = false; // malformed: keep the text for the final verdict, stop reporting pieces
  };
  const { text, usage } = await streamCompletion(config, { messages, json: true, maxTokens: ANSWER_TOKENS, timeoutMs: input.timeoutMs, traceparent: input.traceparent }, (delta) => {
    if (!parsing) return;
    try {
      parser.write(delta);
    } catch {
      parsing = false;
    }
  });
  await reported;
  return { text, usage };
}

async function withModel(config: Config, input: AnalysisInput, emit: (event: AnalysisEvent) => Promise<void>): Promise<AnalysisOutcome> {
  const columns = new Set(input.dataset.profile.columns.map((column) => column.name));
  const messages = analysisMessages(input.dataset, input.question, PROMPT_TOKENS);
  const usage: Usage = { promptTokens: 0, completionTokens: 0 };
  const model = config.OPENAI_MODEL;
  await emit({ type: "status", data: { status: "running", engine: "openai", model } });
  const first = await attempt(config, messages, input, columns, emit);
  usage.promptTokens += first.usage.promptTokens;
  usage.completionTokens += first.usage.completionTokens;
  const verdict = validate(first.text, columns);
  if (verdict.ok) return { result: verdict.result, usage, model };

  // Once more, told what was wrong; clients drop what they were shown so far on `repairing`.
  await emit({ type: "status", data: { status: "repairing", engine: "openai", model } });
  const second = await attempt(config, repairMessages(messages, first.text, verdict.problems), input, columns, emit);
  usage.promptTokens += second.usage.promptTokens;
  usage.completionTokens += second.usage.completionTokens;
  const retried = validate(second.text, columns);
  if (retried.ok) return { result: retried.result, usage, model };
  throw new ApiError(502, { code: "MODEL_OUTPUT_INVALID", detail: `The model's answer failed validation twice: ${retried.problems.slice(0, 3).join("; ")}.` });
}

async function withStatistics(config: Config, input: AnalysisInput, emit: (event: AnalysisEvent) => Promise<void>): Promise<AnalysisOutcome> {
  await emit({ type: "status", data: { status: "running", engine: "statistical", model: null } });
  const page = await readRows(config.DATASETS, input.dataset, 0, ENGINE_ROWS);
  if (!page) throw new ApiError(404, { detail: "The dataset's file is no longer stored." });
  const result = AnalysisResult.parse(statisticalAnalysis({ name: input.dataset.name, profile: input.dataset.profile, rows: page.rows }));
  for (const [index, insight] of result.insights.entries()) await emit({ type: "insight", data: { ...insight, index } });
  for (const [index, chart] of result.charts.entries()) await emit({ type: "chart", data: { ...chart, index } });
  return { result, usage: { promptTokens: 0, completionTokens: 0 }, model: null };
}

/** Runs the analysis, reporting progress through `emit`; rejects with a problem (ApiError) on failure. */
export function runAnalysis(config: Config, input: AnalysisInput, emit: (event: AnalysisEvent) => Promise<void>): Promise<AnalysisOutcome> {
  return input.engine === "openai" ? withModel(config, input, emit) : withStatistics(config, input, emit);
}
