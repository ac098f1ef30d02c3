// Chat: one turn on a session (streamed over SSE, or JSON once complete), and the session's transcript.
import { toApiError } from "../../lib/handle-error.ts";
import { decodeCursor, toPage } from "../../lib/pagination.ts";
import { ApiError, problemBody } from "../../lib/problem.ts";
import { eventStream, wantsEventStream } from "../../lib/sse.ts";
import { requireSession } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { waitUntil } from "../../lib/wait-until.ts";
import { principalOf } from "../../lib/principal.ts";
import { datasetInput } from "../../services/analysis/dataset-input.ts";
import { answerTurn, type TurnEvents, type TurnResult } from "../../services/chat/answer.ts";
import { turnCostTokens } from "../../services/chat/context.ts";
import { messageCursor, presentMessage, transcriptPage } from "../../services/chat/transcript.ts";
import { holdTurn } from "../../services/chat/turn.ts";
import { chooseEngine, spendModelBudget } from "../../services/llm/budget.ts";
import type * as routes from "./chat.routes.ts";

const reply = (result: TurnResult) => ({ ...presentMessage(result.assistant), userMessageId: result.user.id, usage: result.usage });

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { id } = c.req.valid("param");
  const { message, engine: asked } = c.req.valid("json");
  const { session, dataset } = await requireSession(c, id, "analyses:run");
  if (dataset.deletedAt) throw new ApiError(409, { detail: "The session's dataset has been deleted; open a session on another dataset." });
  const engine = chooseEngine(c, asked);
  if (engine === "openai") await spendModelBudget(c, turnCostTokens(message));
  c.set("auditTarget", { type: "sessions", id: session.id });

  const config = c.get("config");
  const logger = c.get("logger");
  const deps = { config, db: c.get("services").db, logger };
  const input = {
    sessionId: session.id,
    userId: principalOf(c).userId,
    dataset: datasetInput(dataset),
    question: message,
    engine,
    traceparent: c.get("trace").traceparent,
  };
  // Held until the turn is saved (or failed): a client that leaves meanwhile does not cut it short.
  const turn = await holdTurn(config, logger, session.id, (done) => waitUntil(c, done));

  if (!wantsEventStream(c.req.header("Accept"))) {
    try {
      return c.json(reply(await answerTurn(deps, input)), 201);
    } finally {
      await turn.release();
    }
  }

  const instance = new URL(c.req.url).pathname;
  const requestId = c.get("requestId");
  return eventStream(c, config.SSE_HEARTBEAT_SECONDS, async (send) => {
    // Once the client is gone its events are dropped; the turn goes on and is saved.
    void send("status", { status: "answering", engine, model: engine === "openai" ? config.OPENAI_MODEL : null });
    const events: TurnEvents = {
      delta: (text) => void send("delta", { text }),
      toolCall: (call) => void send("tool_call", call),
      toolResult: (record) => void send("tool_result", record),
    };
    const work = answerTurn(deps, input, events).finally(() => turn.release());
    try {
      const result = await work;
      await send("done", {
        messageId: result.assistant.id,
        userMessageId: result.user.id,
        engine: result.engine,
        model: result.model,
        usage: result.usage,
      });
    } catch (error) {
      await send("problem", problemBody(toApiError(error, c.get("logger"), requestId), instance, requestId));
    }
  });
};

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { limit, cursor } = c.req.valid("query");
  const after = decodeCursor(cursor);
  const { session } = await requireSession(c, c.req.valid("param").id, "sessions:read");
  const rows = await transcriptPage(c.get("services").db, session.id, after, limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, messageCursor);
  return c.json({ data: data.map(presentMessage), nextCursor }, 200);
};
