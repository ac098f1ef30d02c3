// Route definitions for chat: a streamed turn on a session, and its transcript.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { IdParam, Text, Timestamp } from "../schemas.ts";

const Engine = z.enum(["openai", "statistical"]);

const ToolCallRecord = z
  .object({
    id: z.string().openapi({ description: "The model's tool call id, or `stat_<n>` for the statistical engine's own queries" }),
    name: z.enum(["query_dataset", "chart"]),
    arguments: z.unknown().openapi({ description: "The arguments as sent (`{sql}` or `{spec}`); the raw text when they were not JSON" }),
    sql: z
      .string()
      .nullable()
      .openapi({ description: "The statement run on the dataset's store (a spec's compiled SQL); null when it never ran" }),
    params: z.array(z.union([z.string(), z.number(), z.null()])),
    result: z
      .object({
        columns: z.array(z.object({ name: z.string(), type: z.string() })),
        rows: z.array(z.array(z.unknown())).openapi({ description: "The first 200 rows" }),
        rowCount: z.number().int(),
        truncated: z.boolean(),
      })
      .nullable(),
    error: z
      .object({ code: z.string(), detail: z.string() })
      .nullable()
      .openapi({ description: "Why the call produced no result (handed to the model as the tool's answer)" }),
  })
  .openapi("ChatToolCall");

export const ChatGrounding = z
  .object({
    dataset: z
      .object({ id: z.uuid(), version: z.number().int(), sha256: z.string() })
      .openapi({ description: "The dataset version every query read" }),
    policy: z
      .enum(["schema", "sample", "full"])
      .openapi({ description: "The organization's llmDataPolicy when answered: what the model saw of the results" }),
    toolCalls: z.array(ToolCallRecord),
  })
  .openapi("ChatGrounding");

export const ChatMessage = z
  .object({
    id: z.uuid(),
    sessionId: z.uuid(),
    role: z.enum(["user", "assistant"]),
    content: z.string(),
    engine: Engine.nullable().openapi({ description: "Who answered (assistant messages); null for the person's own" }),
    model: z.string().nullable(),
    tokens: z.number().int().nullable().openapi({ description: "Completion tokens of a model's answer" }),
    grounding: ChatGrounding.nullable().openapi({
      description: "An answer's evidence: the dataset version and each query run for it, with its result; null for questions",
    }),
    createdBy: z.uuid().nullable().openapi({ description: "The person who asked (user messages)" }),
    createdAt: Timestamp,
  })
  .openapi("ChatMessage");

const Usage = z.object({ promptTokens: z.number().int().nullable(), completionTokens: z.number().int().nullable() });

export const ChatReply = ChatMessage.extend({
  userMessageId: z.uuid().openapi({ description: "The question this answers, saved with it" }),
  usage: Usage,
}).openapi("ChatReply");

export const create = createRoute({
  method: "post",
  path: "/sessions/{id}/chat",
  operationId: "chat",
  tags: ["Chat"],
  summary: "Ask about the session's data (answer streamed as SSE, or as JSON once complete)",
  description:
    "Turns in one session are served one at a time, in arrival order: a turn waits (up to 30 s, else 409 `CHAT_BUSY`) while another is answered, and sees its answer. The context is the dataset's profile and sample, the latest succeeded analysis and the recent conversation, within a token budget. With a model, the turn may call the tools `query_dataset(sql)` and `chart(spec)`, run read-only on the dataset's store (at most CHAT_MAX_TOOL_CALLS per turn); the statistical engine runs its own queries for the question shapes it knows. With `Accept: text/event-stream` the answer streams: `status`, then `delta` events (`{text}`) interleaved with `tool_call` (`{id, name, arguments}`) and `tool_result` (`{id, name, sql, params, result, error}`) events, then `done` (`{messageId, userMessageId, engine, model, usage}`) or `problem` (a problem document; named so, not `error`, because EventSource fires its own `error` on a dropped connection); a `: heartbeat` comment every SSE_HEARTBEAT_SECONDS. Otherwise the answer is 201 JSON once complete. The question and answer are saved together only when the answer completes: a failed turn saves nothing.",
  ...authed,
  request: {
    params: IdParam,
    body: jsonBody(
      z
        .object({
          message: Text.trim().min(1).max(4_000).openapi({ description: "The question (1–4,000 characters after trimming)" }),
          engine: z
            .enum(["auto", "openai", "statistical"])
            .default("auto")
            .openapi({ description: "`auto`: the model when one is configured, else the statistical engine" }),
        })
        .strict(),
    ),
  },
  responses: {
    200: { description: "The answer as an event stream", content: { "text/event-stream": { schema: z.string() } } },
    201: { description: "The saved answer", content: { "application/json": { schema: ChatReply } } },
    ...problemResponses(400, 401, 402, 403, 404, 409, 415, 422, 429, 502, 503, 504),
  },
});

export const list = createRoute({
  method: "get",
  path: "/sessions/{id}/messages",
  operationId: "listChatMessages",
  tags: ["Chat"],
  summary: "A session's chat transcript, oldest first",
  description:
    "Chronological (oldest first, by `createdAt` then `id`), unlike other lists: follow `nextCursor` to read on; new messages always land after the last page.",
  ...authed,
  request: { params: IdParam, query: PageQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(ChatMessage) } } },
    ...problemResponses(400, 401, 404),
  },
});
