// Runs one analysis with the model (streamed, validated, repaired or retried once) or the statistical engine, over the dataset's
// store: it waits for the store to be ready (up to ANALYSIS_WAIT_FOR_STORE_MS), and every chart is its spec run over every row.
import { z } from "@hono/zod-openapi";
import { JSONParser } from "@streamparser/json";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { ApiError } from "../../lib/problem.ts";
import type { ParseOptions } from "../datasets/parsers.ts";
import { type ChatMessage, streamCompletion, type Usage } from "../llm/model.ts";
import { queryDataset } from "../query/run.ts";
import { ChartSpec } from "../query/spec.ts";
import { groundChart, type GroundingTarget } from "./ground-charts.ts";
import { analysisMessages, type DatasetContext, repairMessages } from "./prompt.ts";
import { AnalysisResult, type Chart, ChartPlan, Insight, PlannedResult } from "./result.ts";
import { statisticalAnalysis } from "./statistical-engine.ts";
import { storeFacts } from "./statistics/store-facts.ts";
import { waitForStore } from "./wait-for-store.ts";

export type Engine = "openai" | "statistical";

/** What a running analysis reports, in order: `status` (`waiting_for_store` first when the store is not ready), then each `insight` and `chart`. */
export type AnalysisEvent =
  | {
      type: "status";
      data: { status: "waiting_for_store" | "running" | "repairing"; engine: Engine; model: string | null; detail?: string };
    }
  | { type: "insight"; data: Insight & { index: number } }
  | { type: "chart"; data: Chart & { index: number } };

export interface AnalysisInput {
  dataset: DatasetContext & { id: string; orgId: string; version: number; sha256: string; r2Key: string; parseOptions: ParseOptions };
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
const MAX_CHARTS = 10;

/** The JSON schema of the answer the model is asked for: insights, and charts as specs (never points). */
let answerSchema: Record<string, unknown> | undefined;
const analysisSchema = () =>
  (answerSchema ??= z.toJSONSchema(PlannedResult, { io: "input", unrepresentable: "any" }) as Record<string, unknown>);

/** Appended to the summary of an analysis that could not use the store. */
const profileOnly = (waitedMs: number) =>
  ` The dataset's queryable copy was not ready after ${Math.round(waitedMs / 1000)} s, so this analysis ran on the upload profile alone: its figures are the profile's (some may be estimates) and it has no charts.`;

const withNote = (summary: string, note: string) => (note ? `${summary.trim()}${note}`.slice(0, 4_000) : summary);

/** Keeps what names real columns: insights lose unknown column names. Returns null when nothing usable is left of `value`. */
function repairInsight(value: unknown, columns: Set<string>): Insight | null {
  const parsed = Insight.safeParse(value);
  if (!parsed.success) return null;
  return { ...parsed.data, columns: parsed.data.columns.filter((name) => columns.has(name)) };
}

/** A chart as the model proposed it: its `spec` (or, from an older answer shape, its `encoding` read as one); null when neither parses. */
function planOf(value: unknown): ChartPlan | null {
  const raw = value as { spec?: unknown; encoding?: unknown } | null;
  if (!raw || typeof raw !== "object") return null;
  const spec = raw.spec ?? (raw.encoding ? { encoding: raw.encoding } : undefined);
  const parsed = ChartPlan.safeParse({ ...raw, spec: ChartSpec.safeParse(spec).success ? spec : undefined });
  return parsed.success ? parsed.data : null;
}

/** Parses and validates a whole answer; on failure, says what is wrong (for the repair prompt). */
function validate(
  text: string,
  columns: Set<string>,
): { ok: true; result: AnalysisResult; plans: ChartPlan[] } | { ok: false; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text.trim().replace(/^```(?:json)?\s*|\s*```$/g, ""));
  } catch {
    return { ok: false, problems: ["the answer is not valid JSON"] };
  }
  const raw = json as { summary?: unknown; insights?: unknown; charts?: unknown };
  const insights = Array.isArray(raw?.insights)
    ? raw.insights.map((item) => repairInsight(item, columns)).filter((item) => item !== null)
    : [];
  // Charts are checked when they run (a spec that does not is dropped), so they are not part of the verdict.
  const parsed = AnalysisResult.safeParse({ summary: raw?.summary, insights: insights.slice(0, 20), charts: [] });
  if (!parsed.success)
    return { ok: false, problems: parsed.error.issues.map((issue) => `${issue.path.join(".") || "answer"}: ${issue.message}`) };
  if (parsed.data.insights.length === 0) return { ok: false, problems: ["no valid insight naming the dataset's columns"] };
  const plans = Array.isArray(raw?.charts) ? raw.charts.map(planOf).filter((plan) => plan !== null) : [];
  return { ok: true, result: parsed.data, plans };
}

/** One streamed attempt: insights are reported as soon as each is complete and valid, charts as soon as each has run over the store. */
async function attempt(
  config: Config,
  logger: Logger,
  messages: ChatMessage[],
  input: AnalysisInput,
  columns: Set<string>,
  target: GroundingTarget | null,
  emit: (event: AnalysisEvent) => Promise<void>,
) {
  const parser = new JSONParser({ paths: ["$.insights.*", "$.charts.*"], keepStack: false });
  let reported = Promise.resolve();
  let insights = 0;
  let proposed = 0;
  const charts: Chart[] = [];
  let parsing = true;
  parser.onValue = ({ value, stack }) => {
    const list = stack.at(-1)?.key;
    if (list === "insights") {
      const item = repairInsight(value, columns);
      if (item) reported = reported.then(() => emit({ type: "insight", data: { ...item, index: insights++ } }));
    } else if (list === "charts") {
      const plan = planOf(value);
      if (!plan) logger.warn("chart dropped: the model's chart has no valid spec", { datasetId: input.dataset.id });
      if (!plan || !target || proposed++ >= MAX_CHARTS) return;
      reported = reported.then(async () => {
        const chart = await groundChart(config, logger, target, plan);
        if (!chart) return;
        charts.push(chart);
        await emit({ type: "chart", data: { ...chart, index: charts.length - 1 } });
      });
    }
  };
  parser.onError = () => {
    parsing = false; // malformed: keep the text for the final verdict, stop reporting pieces
  };
  const { text, usage } = await streamCompletion(
    config,
    {
      messages,
      json: true,
      schema: { name: "analysis", schema: analysisSchema() },
      maxTokens: ANSWER_TOKENS,
      timeoutMs: input.timeoutMs,
      traceparent: input.traceparent,
      meter: { orgId: input.dataset.orgId, logger },
    },
    (delta) => {
      if (!parsing) return;
      try {
        parser.write(delta);
      } catch {
        parsing = false;
      }
    },
  );
  await reported;
  return { text, usage, charts, streamed: parsing };
}

/** The verdict's charts: those grounded while streaming, or (when the stream could not be parsed as it came) grounded now. */
async function chartsOf(
  config: Config,
  logger: Logger,
  target: GroundingTarget | null,
  run: Awaited<ReturnType<typeof attempt>>,
  plans: ChartPlan[],
  emit: (event: AnalysisEvent) => Promise<void>,
) {
  if (run.streamed || !target) return run.charts;
  const charts: Chart[] = [];
  for (const plan of plans.slice(0, MAX_CHARTS)) {
    const chart = await groundChart(config, logger, target, plan);
    if (!chart) continue;
    charts.push(chart);
    await emit({ type: "chart", data: { ...chart, index: charts.length - 1 } });
  }
  return charts;
}

async function withModel(
  config: Config,
  logger: Logger,
  input: AnalysisInput,
  target: GroundingTarget | null,
  note: string,
  emit: (event: AnalysisEvent) => Promise<void>,
): Promise<AnalysisOutcome> {
  const columns = new Set(input.dataset.profile.columns.map((column) => column.name));
  const messages = analysisMessages(input.dataset, input.question, PROMPT_TOKENS);
  const usage: Usage = { promptTokens: 0, completionTokens: 0 };
  const model = config.OPENAI_MODEL;
  await emit({ type: "status", data: { status: "running", engine: "openai", model } });
  const first = await attempt(config, logger, messages, input, columns, target, emit);
  usage.promptTokens += first.usage.promptTokens;
  usage.completionTokens += first.usage.completionTokens;
  const verdict = validate(first.text, columns);
  if (verdict.ok) {
    const charts = await chartsOf(config, logger, target, first, verdict.plans, emit);
    return { result: { ...verdict.result, summary: withNote(verdict.result.summary, note), charts }, usage, model };
  }

  // Once more, told what was wrong; clients drop what they were shown so far on `repairing`.
  await emit({ type: "status", data: { status: "repairing", engine: "openai", model } });
  const second = await attempt(config, logger, repairMessages(messages, first.text, verdict.problems), input, columns, target, emit);
  usage.promptTokens += second.usage.promptTokens;
  usage.completionTokens += second.usage.completionTokens;
  const retried = validate(second.text, columns);
  if (retried.ok) {
    const charts = await chartsOf(config, logger, target, second, retried.plans, emit);
    return { result: { ...retried.result, summary: withNote(retried.result.summary, note), charts }, usage, model };
  }
  throw new ApiError(502, {
    code: "MODEL_OUTPUT_INVALID",
    detail: `The model's answer failed validation twice: ${retried.problems.slice(0, 3).join("; ")}.`,
  });
}

async function withStatistics(
  config: Config,
  logger: Logger,
  input: AnalysisInput,
  target: GroundingTarget | null,
  storeRows: number,
  note: string,
  emit: (event: AnalysisEvent) => Promise<void>,
): Promise<AnalysisOutcome> {
  await emit({ type: "status", data: { status: "running", engine: "statistical", model: null } });
  const { name, profile } = input.dataset;
  // Every figure in SQL over the store; without one, the profile's figures alone (and no charts).
  const facts = target
    ? await storeFacts(async (sql, params) => (await queryDataset(config, target.dataset, sql, params)).rows, profile, storeRows)
    : undefined;
  const planned = statisticalAnalysis({ name, profile, rows: [], facts });
  const charts: Chart[] = [];
  if (target) {
    for (const plan of planned.charts) {
      const chart = await groundChart(config, logger, target, plan);
      if (chart) charts.push(chart);
    }
  }
  const result = AnalysisResult.parse({ summary: withNote(planned.summary, note), insights: planned.insights, charts });
  for (const [index, insight] of result.insights.entries()) await emit({ type: "insight", data: { ...insight, index } });
  for (const [index, chart] of result.charts.entries()) await emit({ type: "chart", data: { ...chart, index } });
  return { result, usage: { promptTokens: 0, completionTokens: 0 }, model: null };
}

/** Runs the analysis, reporting progress through `emit`; rejects with a problem (ApiError) on failure. */
export async function runAnalysis(
  config: Config,
  logger: Logger,
  input: AnalysisInput,
  emit: (event: AnalysisEvent) => Promise<void>,
): Promise<AnalysisOutcome> {
  const { dataset } = input;
  const model = input.engine === "openai" ? config.OPENAI_MODEL : null;
  const store = await waitForStore(config, dataset, config.ANALYSIS_WAIT_FOR_STORE_MS, (status) =>
    emit({
      type: "status",
      data: {
        status: "waiting_for_store",
        engine: input.engine,
        model,
        detail: `The dataset's queryable copy is ${status}; waiting for it to be ready.`,
      },
    }),
  );
  const target: GroundingTarget | null = store.ready
    ? {
        dataset: {
          id: dataset.id,
          orgId: dataset.orgId,
          version: dataset.version,
          sha256: dataset.sha256,
          parseOptions: dataset.parseOptions,
        },
        columns: dataset.profile.columns.map(({ name, type }) => ({ name, type })),
      }
    : null;
  if (!store.ready)
    logger.warn("analysis runs on the profile: the store is not ready", {
      datasetId: dataset.id,
      storeStatus: store.status,
      waitedMs: store.waitedMs,
    });
  const note = store.ready ? "" : profileOnly(store.waitedMs);
  return input.engine === "openai"
    ? withModel(config, logger, input, target, note, emit)
    : withStatistics(config, logger, input, target, store.rows, note, emit);
}
