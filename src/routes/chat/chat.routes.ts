// Route definitions for chat: a streamed turn on a session, and its transcript.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { IdParam, Text, Timestamp } from "../schemas.ts";

const Engine = z.enum(["openai", "statistical"]);

export const ChatMessage = z
  .object({
    id: z.uuid(),
    sessionId: z.uuid(),
    role: z.enum(["user", "assistant"]),
    content: z.string(),
    engine: Engine.nullable().openapi({ description: "Who answered (assistant messages); null for the person's own" }),
    model: z.string().nullable(),
    tokens: z.number().int().nullable().openapi({ description: "Completion tokens of a model's answer" }),
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
    "Turns in one session are served one at a time, in arrival order: a turn waits (up to 30 s, else 409 `CHAT_BUSY`) while another is answered, and sees its answer. The context is the dataset's profile and sample, the latest succeeded analysis and the recent conversation, within a token budget. With `Accept: text/event-stream` the answer streams: `status`, then `delta` events (`{text}`), then `done` (`{messageId, userMessageId, engine, model, usage}`) or `problem` (a problem document; named so, not `error`, because EventSource fires its own `error` on a dropped connection); a `: heartbeat` comment every SSE_HEARTBEAT_SECONDS. Otherwise the answer is 201 JSON once complete. The question and answer are saved together only when the answer completes: a failed turn saves nothing.",
  ...authed,
  request: {
    params: IdParam,
    body: jsonBody(
      z
        .object({
          message: Text.trim().min(1).max(4_000).openapi({ description: "The question (1–4,000 characters after trimming)" }),
          engine: z.enum(["auto", "openai", "statistical"]).default("auto").openapi({ description: "`auto`: the model when one is configured, else the statistical engine" }),
        })
        .strict(),
    ),
  },
  responses: {
    200: { description: "The answer as an event stream", content: { "text/event-stream": { schema: z.string() } } },
    201: { description: "The saved answer", content: { "application/json": { schema: ChatReply } } },
    ...problemResponses(400, 401, 403, 404, 409, 415, 422, 429, 502, 503, 504),
  },
});

export const list = createRoute({
  method: "get",
  path: "/sessions/{id}/messages",
  operationId: "listChatMessages",
  tags: ["Chat"],
  summary: "A session's chat transcript, oldest first",
  description: "Chronological (oldest first, by `createdAt` then `id`), unlike other lists: follow `nextCursor` to read on; new messages always land after the last page.",
  ...authed,
  request: { params: IdParam, query: PageQuery },
  responses: { 200: { description: "A page", content: { "application/json": { schema: pageSchema(ChatMessage) } } }, ...problemResponses(400, 401, 404) },
});
