// The model behind analyses and chat: the openai SDK (streamed, with its retries) behind a circuit breaker.
import OpenAI from "openai";
import type { Config } from "../../env.ts";
import { CircuitBreaker, CircuitOpenError } from "../../lib/circuit-breaker.ts";
import type { Logger } from "../../lib/logger.ts";
import { ApiError } from "../../lib/problem.ts";
import { sendUsage } from "../usage/record.ts";

export type ChatMessage = { role: "system" | "user" | "assistant"; content: string };

/** A function call the model asked for, as OpenAI sends it (arguments are JSON text the model wrote: parse with care). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** The messages of a tool-calling conversation: an assistant turn that called tools, and each tool's answer. */
export type ModelMessage =
  | ChatMessage
  | {
      role: "assistant";
      content: string | null;
      tool_calls: { id: string; type: "function"; function: { name: string; arguments: string } }[];
    }
  | { role: "tool"; tool_call_id: string; content: string };

/** A function the model may call: its name, what it does, and its parameters as JSON Schema. */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface CompletionRequest {
  messages: ModelMessage[];
  /** Functions the model may call; `toolChoice: "none"` keeps them described but asks for text (the call cap is reached). */
  tools?: ToolDefinition[];
  toolChoice?: "auto" | "none";
  /** Ask for a JSON object (analyses) rather than prose (chat). */
  json?: boolean;
  /** With `json`: the JSON schema the answer follows (sent as a non-strict `json_schema` response format). */
  schema?: { name: string; schema: Record<string, unknown> };
  maxTokens?: number;
  /** The whole call, stream included: a model that stalls after its first bytes is cut off too. */
  timeoutMs: number;
  /** W3C trace context of the request or job making the call, sent as the `traceparent` header. */
  traceparent?: string;
  /** Who is billed: the organization the call's usage (one call, its tokens as the provider reports them) is counted for. */
  meter?: { orgId: string; logger: Logger };
}

/** True when the model is configured; otherwise the statistical engine answers. */
export const modelConfigured = (config: Config) => Boolean(config.OPENAI_API_KEY);

/** Failures that say the model (or the way to it) is unwell; a refused or invalid request is not one. */
const upstreamFailure = (error: unknown) =>
  error instanceof OpenAI.APIConnectionError ||
  error instanceof OpenAI.APIUserAbortError ||
  (error instanceof OpenAI.APIError && (error.status === undefined || error.status === 429 || error.status >= 500)) ||
  (error instanceof ApiError && (error.code === "MODEL_TIMEOUT" || error.code === "MODEL_ERROR"));

/** One breaker per model endpoint in this isolate: consecutive failures open it for the cool-down. */
const breakers = new Map<string, CircuitBreaker>();

function breakerFor(config: Config): CircuitBreaker {
  const key = [config.OPENAI_BASE_URL ?? "openai", config.OPENAI_MODEL, config.LLM_BREAKER_THRESHOLD, config.LLM_BREAKER_COOLDOWN_MS].join(
    "|",
  );
  let breaker = breakers.get(key);
  if (!breaker) {
    breaker = new CircuitBreaker({
      threshold: config.LLM_BREAKER_THRESHOLD,
      cooldownMs: config.LLM_BREAKER_COOLDOWN_MS,
      counts: upstreamFailure,
    });
    breakers.set(key, breaker);
  }
  return breaker;
}

/** The 503 a caller gets while the breaker is open, with when to come back. */
function breakerOpen(config: Config, retryAfterMs: number): ApiError {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ApiError(503, {
    code: "MODEL_UNAVAILABLE",
    detail: `The model failed ${config.LLM_BREAKER_THRESHOLD} times in a row; calls are paused for ${retryAfter} s.`,
    headers: { "Retry-After": String(retryAfter) },
  });
}

/** Refuses at once while the breaker is open (so a route can answer 503 before it starts a stream). */
export function assertModelAvailable(config: Config) {
  const breaker = breakerFor(config);
  if (breaker.state === "open") throw breakerOpen(config, breaker.retryAfterMs());
}

/** What the SDK threw, as the problem the API reports. */
function asProblem(error: unknown, timeoutMs: number): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof OpenAI.APIUserAbortError || error instanceof OpenAI.APIConnectionTimeoutError) {
    return new ApiError(504, { code: "MODEL_TIMEOUT", detail: `The model did not finish within ${timeoutMs} ms.` });
  }
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    return new ApiError(502, {
      code: "MODEL_ERROR",
      detail: `The model answered ${error.status}${error.status === 429 ? " (rate limited)" : ""} after retries.`,
    });
  }
  return new ApiError(502, { code: "MODEL_ERROR", detail: "The model could not be reached." });
}

function clientFor(config: Config): OpenAI {
  return new OpenAI({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, maxRetries: config.OPENAI_MAX_RETRIES });
}

/**
 * Streams a completion: `onDelta` receives each piece of content as it arrives. Resolves with the
 * whole text, the token usage and any tool calls the model made (assembled from their streamed fragments), or rejects with a problem (MODEL_TIMEOUT, MODEL_ERROR,
 * MODEL_UNAVAILABLE while the breaker is open).
 */
export async function streamCompletion(config: Config, request: CompletionRequest, onDelta: (text: string) => void | Promise<void>) {
  const breaker = breakerFor(config);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), request.timeoutMs);
  try {
    return await breaker.execute(async () => {
      let text = "";
      let usage: Usage = { promptTokens: 0, completionTokens: 0 };
      // Tool calls arrive in fragments keyed by index: the first names the id and function, later ones add to the arguments.
      const calls: ToolCall[] = [];
      let finishReason: string | null = null;
      try {
        const stream = await clientFor(config).chat.completions.create(
          {
            model: config.OPENAI_MODEL,
            messages: request.messages,
            stream: true,
            stream_options: { include_usage: true },
            ...(request.json
              ? {
                  response_format: request.schema
                    ? {
                        type: "json_schema" as const,
                        json_schema: { name: request.schema.name, schema: request.schema.schema, strict: false },
                      }
                    : { type: "json_object" as const },
                }
              : {}),
            ...(request.tools?.length
              ? {
                  tools: request.tools.map((tool) => ({ type: "function" as const, function: tool })),
                  tool_choice: request.toolChoice ?? "auto",
                }
              : {}),
            ...(request.maxTokens ? { max_completion_tokens: request.maxTokens } : {}),
          },
          {
            signal: deadline.signal,
            timeout: request.timeoutMs,
            ...(request.traceparent ? { headers: { traceparent: request.traceparent } } : {}),
          },
        );
        for await (const chunk of stream) {
          const delta = chunk.choices[0]?.delta?.content;
          if (delta) {
            text += delta;
            await onDelta(delta);
          }
          for (const fragment of chunk.choices[0]?.delta?.tool_calls ?? []) {
            const call = (calls[fragment.index] ??= { id: "", name: "", arguments: "" });
            if (fragment.id) call.id = fragment.id;
            if (fragment.function?.name) call.name += fragment.function.name;
            if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
          }
          if (chunk.choices[0]?.finish_reason) finishReason = chunk.choices[0].finish_reason;
          if (chunk.usage) usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
        }
        // The SDK ends an aborted stream quietly: a deadline that fired is a timeout, not an answer.
        if (deadline.signal.aborted) throw new OpenAI.APIUserAbortError();
      } catch (error) {
        throw asProblem(error, request.timeoutMs);
      }
      if (request.meter) {
        await sendUsage(config, request.meter.logger, request.meter.orgId, {
          llmCalls: 1,
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
        });
      }
      return { text, usage, toolCalls: calls.filter((call) => call !== undefined && call.name !== ""), finishReason };
    });
  } catch (error) {
    if (error instanceof CircuitOpenError) throw breakerOpen(config, error.retryAfterMs);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
