// The OpenAI stub's scripted answers (scenarios, keyed by a string the prompt contains) and its request log.
import { z } from "zod";

const finishReasons = ["stop", "length", "content_filter", "tool_calls"] as const;

/** One scripted answer; a scenario plays its steps in order, then repeats the last. */
/** A function call the scripted model makes; object arguments are sent as their JSON text, a string as it is (so a test can send broken JSON). */
export const ToolCallStep = z.strictObject({
  id: z.string().min(1).max(100).optional(),
  name: z.string().min(1).max(100),
  arguments: z.union([z.string().max(100_000), z.record(z.string(), z.unknown())]),
});

export const Step = z.union([
  z.strictObject({
    /** Calls to make (finish_reason "tool_calls"); streamed as OpenAI does: per call an id and name first, then argument fragments. */
    toolCalls: z.array(ToolCallStep).min(1).max(20),
    /** Text the model says before calling (streamed first). */
    content: z.string().optional(),
    /** Size of each argument (and content) fragment when streamed. */
    chunkSize: z.number().int().positive().optional(),
  }),
  z.strictObject({
    content: z.string(),
    chunkSize: z.number().int().positive().optional(),
    /** Between chunks when streamed; once before answering when not. */
    delayMs: z.number().nonnegative().max(60_000).optional(),
    finishReason: z.enum(finishReasons).optional(),
  }),
  z.strictObject({
    status: z.number().int().min(400).max(599),
    message: z.string().optional(),
    type: z.string().optional(),
    code: z.string().nullable().optional(),
    retryAfterSeconds: z.number().nonnegative().optional(),
    retryAfterMs: z.number().nonnegative().optional(),
  }),
  z.strictObject({
    stall: z.literal(true),
    /** Chunks of the default answer sent before stalling (streamed requests). */
    afterChunks: z.number().int().nonnegative().optional(),
    /** Never send even the response headers. */
    beforeHeaders: z.boolean().optional(),
  }),
  z.strictObject({
    raw: z.string(),
    /** text/event-stream for streamed requests, application/json otherwise, unless set. */
    contentType: z.string().optional(),
  }),
  z.strictObject({
    dropAfterChunks: z.number().int().nonnegative(),
  }),
]);
export type Step = z.infer<typeof Step>;

export const ScenarioInput = z.strictObject({
  match: z.string().min(1).max(1_000),
  responses: z.array(Step).min(1).max(1_000),
});

export function stepKind(step: Step): "tool_calls" | "content" | "error" | "stall" | "raw" | "drop" {
  if ("toolCalls" in step) return "tool_calls";
  if ("content" in step) return "content";
  if ("status" in step) return "error";
  if ("stall" in step) return "stall";
  if ("raw" in step) return "raw";
  return "drop";
}

export interface LoggedRequest {
  model?: unknown;
  stream: boolean;
  messages: unknown;
  response_format?: unknown;
  [field: string]: unknown;
  path: string;
  receivedAt: string;
  /** The request's headers, without Authorization. */
  headers: Record<string, string>;
  /** The scenario that answered, or null for the default answer. */
  scenario: string | null;
  /** Which step of it (0-based) and of what kind, or "default". */
  step: number | null;
  answer: ReturnType<typeof stepKind> | "default";
  /** Updated as the answer goes out, so tests can see whether a client hung up on a stalled stream. */
  outcome: "pending" | "completed" | "client-closed" | "dropped" | "server-closed";
}

interface Scenario {
  match: string;
  steps: Step[];
  next: number;
}

/** Keeps the log bounded in a long `npm run dev` session; tests read their own entries long before this. */
const maxLogged = 5_000;

export class ScenarioBook {
  private readonly scenarios = new Map<string, Scenario>();
  private readonly log: { text: string; entry: LoggedRequest }[] = [];

  /** Registering the same match again replaces it and starts from its first step. */
  set(match: string, steps: Step[]) {
    this.scenarios.delete(match);
    this.scenarios.set(match, { match, steps, next: 0 });
  }

  delete(match: string): boolean {
    return this.scenarios.delete(match);
  }

  /** The most recently registered scenario the prompt contains consumes its next step. */
  take(text: string): { match: string; index: number; step: Step } | null {
    const candidates = [...this.scenarios.values()].reverse();
    const scenario = candidates.find((s) => text.includes(s.match));
    if (!scenario) return null;
    const index = Math.min(scenario.next, scenario.steps.length - 1);
    scenario.next = index + 1;
    return { match: scenario.match, index, step: scenario.steps[index]! };
  }

  record(text: string, entry: LoggedRequest) {
    this.log.push({ text, entry });
    if (this.log.length > maxLogged) this.log.splice(0, this.log.length - maxLogged);
  }

  requests(match: string | null): LoggedRequest[] {
    return this.log.filter((item) => match === null || item.text.includes(match)).map((item) => item.entry);
  }
}
