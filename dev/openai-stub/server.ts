// A local stand-in for the OpenAI API: chat completions (streamed and not) on the real wire format, scripted by scenarios.
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { BodyTooLarge, listen, readBody, sendJson } from "../http.ts";
import { chunk, countTokens, defaultAnalysis, defaultChat, promptText, type ChatMessage } from "./answers.ts";
import { ScenarioBook, ScenarioInput, stepKind, type LoggedRequest, type Step } from "./scenarios.ts";

export interface OpenAIStubOptions {
  port?: number;
  log?: (message: string) => void;
  maxBodyBytes?: number;
}

export interface OpenAIStub {
  /** The base URL the SDK takes (`baseURL`), ending in /v1. */
  url: string;
  port: number;
  /** Stops the server, ending stalled and in-flight streams. */
  close(): Promise<void>;
  /** An outage (fault tests): like close, cutting in-flight streams off mid-answer; scenarios and the request log are kept. */
  stop(): Promise<void>;
  /** Listens again on the same port after `stop`. */
  start(): Promise<void>;
}

const models = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1", "gpt-5-mini"];

function requestId(): string {
  return `req_${randomBytes(16).toString("hex")}`;
}

/** OpenAI's error body. Its `type`/`code` follow what the real API answers for each status. */
function errorBody(status: number, message?: string, type?: string, code?: string | null) {
  const defaults: Record<number, [string, string, string | null]> = {
    400: ["Invalid request (local OpenAI stub).", "invalid_request_error", null],
    401: ["Incorrect API key provided.", "invalid_request_error", "invalid_api_key"],
    403: ["You are not allowed to access this resource.", "invalid_request_error", null],
    404: ["The model does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"],
    429: ["Rate limit reached for requests (local OpenAI stub).", "requests", "rate_limit_exceeded"],
    500: ["The server had an error while processing your request. Sorry about that!", "server_error", null],
    503: ["The engine is currently overloaded, please try again later.", "server_error", null],
  };
  const [defaultMessage, defaultType, defaultCode] =
    defaults[status] ?? (status >= 500 ? defaults[500]! : [`Request failed with status ${status}.`, "invalid_request_error", null]);
  return {
    error: { message: message ?? defaultMessage, type: type ?? defaultType, param: null, code: code === undefined ? defaultCode : code },
  };
}

function sendError(
  res: ServerResponse,
  status: number,
  message?: string,
  extra: { type?: string; code?: string | null; headers?: Record<string, string> } = {},
) {
  sendJson(res, status, errorBody(status, message, extra.type, extra.code), { "x-request-id": requestId(), ...extra.headers });
}

function invalid(res: ServerResponse, message: string, param: string | null = null) {
  sendJson(res, 400, { error: { message, type: "invalid_request_error", param, code: null } }, { "x-request-id": requestId() });
}

/** The request's headers for the log, minus the key. */
function loggedHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name !== "authorization" && value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function bearer(req: IncomingMessage): string | null {
  const match = /^Bearer\s+(\S.*)$/i.exec(req.headers.authorization ?? "");
  return match ? match[1]!.trim() : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * What OpenAI answers 400 for in a tool conversation: a `tool` message that answers no call of the assistant message before it,
 * and an assistant message whose calls are not each answered by the `tool` messages right after it. Null when the sequence is valid.
 */
export function toolSequenceError(messages: Record<string, unknown>[]): string | null {
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.role === "tool" && typeof message.tool_call_id !== "string")
      return `Missing required parameter: 'messages[${i}].tool_call_id'.`;
    const calls = message.role === "assistant" && Array.isArray(message.tool_calls) ? (message.tool_calls as { id?: unknown }[]) : null;
    if (message.role === "tool") {
      // Only reached for a tool message not consumed by the assistant message before it (see below).
      return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.";
    }
    if (!calls) continue;
    const pending = new Set(calls.map((call) => String(call.id)));
    let j = i + 1;
    for (; j < messages.length && messages[j]!.role === "tool"; j++) {
      const answered = String(messages[j]!.tool_call_id);
      if (!pending.delete(answered))
        return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.";
    }
    if (pending.size > 0) {
      return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(", ")}`;
    }
    i = j - 1;
  }
  return null;
}

export async function startOpenAIStub(options: OpenAIStubOptions = {}): Promise<OpenAIStub> {
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const book = new ScenarioBook();
  // Aborted by close(): wakes every delayed or stalled answer so it ends instead of holding the server open.
  let closing = new AbortController();
  const log = options.log ?? (() => {});

  async function control(req: IncomingMessage, res: ServerResponse, path: string, url: URL) {
    const match = url.searchParams.get("match");
    if (path === "/_stub/scenarios" && req.method === "POST") {
      let parsed;
      try {
        parsed = ScenarioInput.safeParse(JSON.parse(await readBody(req, maxBodyBytes)));
      } catch {
        return sendJson(res, 400, { error: { message: "the body is not JSON" } });
      }
      if (!parsed.success) return sendJson(res, 400, { error: { message: parsed.error.message } });
      book.set(parsed.data.match, parsed.data.responses);
      return sendJson(res, 201, { match: parsed.data.match, steps: parsed.data.responses.length });
    }
    if (path === "/_stub/scenarios" && req.method === "DELETE") {
      // One at a time: tests run in parallel, and clearing everything would break the others' scenarios.
      if (!match) return sendJson(res, 400, { error: { message: "pass ?match= to name the scenario to clear" } });
      return sendJson(res, 200, { deleted: book.delete(match) });
    }
    if (path === "/_stub/requests" && req.method === "GET") {
      const requests = book.requests(match);
      return sendJson(res, 200, { count: requests.length, requests });
    }
    return sendJson(res, 404, { error: { message: `no stub control route ${req.method} ${path}` } });
  }

  async function completions(req: IncomingMessage, res: ServerResponse, path: string) {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, maxBodyBytes));
    } catch (error) {
      if (error instanceof BodyTooLarge) return sendError(res, 413, `Request body too large: ${error.message}.`);
      return invalid(
        res,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
      );
    }
    if (!isObject(body)) return invalid(res, "The request body must be a JSON object.");
    if (typeof body.model !== "string" || body.model === "") return invalid(res, "you must provide a model parameter", "model");
    if (!Array.isArray(body.messages) || body.messages.length === 0 || !body.messages.every(isObject)) {
      return invalid(res, "Invalid 'messages': expected a non-empty array of message objects.", "messages");
    }
    const messages = body.messages as ChatMessage[];
    const sequence = toolSequenceError(body.messages as Record<string, unknown>[]);
    if (sequence) return invalid(res, sequence, "messages");
    const model = body.model;
    const stream = body.stream === true;
    const streamOptions = isObject(body.stream_options) ? body.stream_options : {};
    const includeUsage = stream && streamOptions.include_usage === true;
    const format = isObject(body.response_format) ? body.response_format.type : undefined;
    const wantsJson = format === "json_object" || format === "json_schema";

    const text = promptText(messages);
    const taken = book.take(text);
    const step: Step | null = taken?.step ?? null;
    const entry: LoggedRequest = {
      ...body,
      model,
      stream,
      messages: body.messages,
      path,
      receivedAt: new Date().toISOString(),
      headers: loggedHeaders(req),
      scenario: taken?.match ?? null,
      step: taken?.index ?? null,
      answer: step ? stepKind(step) : "default",
      outcome: "pending",
    };
    book.record(text, entry);
    log(
      `${req.method} ${path} model=${model} stream=${stream} → ${taken ? `scenario ${JSON.stringify(taken.match)} step ${taken.index} (${entry.answer})` : "default"}`,
    );

    // Ends with the response, the client hanging up, or the server closing; every wait below listens to it.
    const gone = new AbortController();
    const signal = AbortSignal.any([gone.signal, closing.signal]);
    res.on("error", () => {});
    res.on("close", () => {
      gone.abort();
      if (entry.outcome === "pending") entry.outcome = closing.signal.aborted ? "server-closed" : "client-closed";
    });
    const pause = (ms: number) => (ms > 0 ? sleep(ms, undefined, { signal }).catch(() => {}) : Promise.resolve());
    const stalled = () =>
      new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
    // Resolves once the bytes are handed to the socket, so a drop right after does not swallow them.
    const write = (data: string) =>
      new Promise<void>((resolve) => {
        if (signal.aborted || res.destroyed) return resolve();
        res.write(data, () => resolve());
      });
    const finish = () => {
      entry.outcome = "completed";
      res.end();
    };

    if (step && "status" in step) {
      const headers: Record<string, string> = {};
      const ms = step.retryAfterMs ?? (step.retryAfterSeconds !== undefined ? step.retryAfterSeconds * 1000 : undefined);
      if (ms !== undefined) {
        headers["retry-after-ms"] = String(Math.round(ms));
        headers["retry-after"] = String(step.retryAfterSeconds ?? Math.ceil(ms / 1000));
      }
      entry.outcome = "completed";
      return sendError(res, step.status, step.message, { type: step.type, code: step.code, headers });
    }
    if (step && "stall" in step && step.beforeHeaders) {
      await stalled();
      return void res.destroy();
    }

    const id = `chatcmpl-${randomBytes(15).toString("base64url")}`;
    const created = Math.floor(Date.now() / 1000);
    // A scripted text answer (a tool-calling step has text too, but is answered on its own below).
    const textStep = step && "content" in step && !("toolCalls" in step) ? step : null;
    const content =
      step && "toolCalls" in step
        ? (step.content ?? "")
        : textStep
          ? textStep.content
          : wantsJson
            ? defaultAnalysis(text)
            : defaultChat(messages);
    const finishReason = textStep ? (textStep.finishReason ?? "stop") : "stop";
    const promptTokens = countTokens(text);
    const completionTokens = countTokens(content);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const common = { "x-request-id": requestId(), "openai-processing-ms": "1" };

    if (step && "toolCalls" in step) {
      const calls = step.toolCalls.map((call, i) => ({
        id: call.id ?? `call_${randomBytes(12).toString("base64url")}`,
        type: "function" as const,
        function: { name: call.name, arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments) },
        index: i,
      }));
      const said = content;
      const callUsage = { ...usage, completion_tokens: countTokens(said + calls.map((call) => call.function.arguments).join("")) };
      callUsage.total_tokens = callUsage.prompt_tokens + callUsage.completion_tokens;
      if (!stream) {
        res.writeHead(200, { "content-type": "application/json", ...common });
        await write(
          JSON.stringify({
            id,
            object: "chat.completion",
            created,
            model,
            choices: [
              {
                index: 0,
                message: {
                  role: "assistant",
                  content: said || null,
                  refusal: null,
                  annotations: [],
                  tool_calls: calls.map(({ index: _index, ...call }) => call),
                },
                logprobs: null,
                finish_reason: "tool_calls",
              },
            ],
            usage: callUsage,
            service_tier: "default",
            system_fingerprint: "fp_stub",
          }),
        );
        return finish();
      }
      // As OpenAI streams them: per call, a first delta with index, id, type and name (arguments ""), then argument fragments by index.
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
        ...common,
      });
      const chunkOf = (choices: unknown[], lastUsage: typeof usage | null = null) =>
        `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, service_tier: "default", system_fingerprint: "fp_stub", choices, ...(includeUsage ? { usage: lastUsage } : {}) })}\n\n`;
      const choice = (d: Record<string, unknown>, finishReason: string | null = null) => ({
        index: 0,
        delta: d,
        logprobs: null,
        finish_reason: finishReason,
      });
      await write(chunkOf([choice({ role: "assistant", content: said ? "" : null, refusal: null })]));
      for (const piece of said ? chunk(said, step.chunkSize) : []) await write(chunkOf([choice({ content: piece })]));
      for (const call of calls) {
        await write(
          chunkOf([
            choice({
              tool_calls: [{ index: call.index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }],
            }),
          ]),
        );
        for (const piece of chunk(call.function.arguments, step.chunkSize)) {
          await write(chunkOf([choice({ tool_calls: [{ index: call.index, function: { arguments: piece } }] })]));
        }
      }
      await write(chunkOf([choice({}, "tool_calls")]));
      if (includeUsage) await write(chunkOf([], callUsage));
      await write("data: [DONE]\n\n");
      return finish();
    }

    if (step && "raw" in step) {
      res.writeHead(200, {
        "content-type": step.contentType ?? (stream ? "text/event-stream; charset=utf-8" : "application/json"),
        ...common,
      });
      await write(step.raw);
      return finish();
    }

    if (!stream) {
      const payload = JSON.stringify({
        id,
        object: "chat.completion",
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content, refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage: {
          ...usage,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
        },
        service_tier: "default",
        system_fingerprint: "fp_stub",
      });
      if (textStep?.delayMs) await pause(textStep.delayMs);
      if (signal.aborted) return;
      res.writeHead(200, { "content-type": "application/json", ...common });
      if (step && "stall" in step) {
        res.flushHeaders();
        await stalled();
        return void res.destroy();
      }
      if (step && "dropAfterChunks" in step) {
        for (const piece of chunk(payload).slice(0, step.dropAfterChunks)) await write(piece);
        entry.outcome = "dropped";
        return void res.destroy();
      }
      await write(payload);
      return finish();
    }

    // Streamed: the chunk sequence OpenAI sends: a role delta, content deltas, the finish reason, usage when asked, [DONE].
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      ...common,
    });
    const event = (choices: unknown[], lastUsage: typeof usage | null = null) =>
      `data: ${JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        service_tier: "default",
        system_fingerprint: "fp_stub",
        choices,
        ...(includeUsage ? { usage: lastUsage } : {}),
      })}\n\n`;
    const delta = (d: Record<string, unknown>, finish: string | null = null) => ({
      index: 0,
      delta: d,
      logprobs: null,
      finish_reason: finish,
    });

    await write(event([delta({ role: "assistant", content: "", refusal: null })]));
    const pieces = chunk(content, textStep?.chunkSize);
    const limit =
      step && "stall" in step ? (step.afterChunks ?? 0) : step && "dropAfterChunks" in step ? step.dropAfterChunks : pieces.length;
    const delayMs = textStep?.delayMs ?? 0;
    for (const [i, piece] of pieces.slice(0, limit).entries()) {
      if (i > 0) await pause(delayMs);
      if (signal.aborted) return;
      await write(event([delta({ content: piece })]));
    }
    if (step && "stall" in step) {
      await stalled();
      return void res.destroy();
    }
    if (step && "dropAfterChunks" in step) {
      entry.outcome = "dropped";
      return void res.destroy();
    }
    await write(event([delta({}, finishReason)]));
    if (includeUsage) await write(event([], usage));
    await write("data: [DONE]\n\n");
    return finish();
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://stub");
    // The SDK joins its base URL and `/chat/completions`, so a base URL with or without /v1 both land here.
    const path = url.pathname.replace(/^\/v1(?=\/)/, "").replace(/\/+$/, "") || "/";
    if (path.startsWith("/_stub/")) return control(req, res, path, url);

    const isCompletions = path === "/chat/completions" && req.method === "POST";
    const isModels = path === "/models" && req.method === "GET";
    const model = /^\/models\/([^/]+)$/.exec(path);
    if (!isCompletions && !isModels && !(model && req.method === "GET")) {
      return sendError(res, 404, `Invalid URL (${req.method} ${url.pathname})`, { code: null });
    }
    if (!bearer(req)) {
      return sendError(
        res,
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        { code: null },
      );
    }
    if (isCompletions) return completions(req, res, path);
    const entry = (id: string) => ({ id, object: "model", created: 1_700_000_000, owned_by: "system" });
    if (isModels) return sendJson(res, 200, { object: "list", data: models.map(entry) }, { "x-request-id": requestId() });
    return sendJson(res, 200, entry(decodeURIComponent(model![1]!)), { "x-request-id": requestId() });
  }

  const server = await listen(handle, options.port);
  const close = async () => {
    closing.abort();
    await server.close();
  };
  return {
    url: `${server.url}/v1`,
    port: server.port,
    close,
    stop: close,
    start: async () => {
      if (closing.signal.aborted) closing = new AbortController();
      await server.start();
    },
  };
}
