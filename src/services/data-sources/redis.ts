// External Redis over either transport, RESP over TCP (redis-tcp.ts) or Upstash's REST protocol (@upstash/redis):
// pipelines with timeouts, a circuit breaker and stable errors. TCP calls go through the source's SourceConnection object.
import { Redis } from "@upstash/redis/cloudflare";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Answer, SourceConnection, SourceLimits } from "../../durable-objects/source-connection/source-connection.ts";
import { ApiError, type ErrorCode } from "../../lib/problem.ts";
import { throughCircuit } from "./circuit.ts";
import { parseRedisUrl } from "./redis-address.ts";
import { isReplyError, RedisTcpError } from "./redis-tcp.ts";
import type { RedisCredentials } from "./registry.ts";

export interface RedisTarget {
  id: string;
  credentials: RedisCredentials;
  timeoutMs: number;
  maxBytes: number;
  /** For the TCP transport: the source objects and the pool's limits (the calls go through the source's object). */
  tcp?: {
    connections: DurableObjectNamespace<SourceConnection>;
    limits: Omit<SourceLimits, "timeoutMs">;
  };
}

export type Command = [string, ...string[]];
export interface Reply {
  result?: unknown;
  error?: string;
}

/** What a pipeline needs of a queued command: its words, and how to read its answer (as it came). */
interface Chainable {
  chain(command: { command: string[]; deserialize: (value: unknown) => unknown }): unknown;
  exec(options: { keepErrors: true }): Promise<Reply[]>;
}

const authFailure = /unauthori[sz]ed|wrongpass|noauth|invalid (api )?token|auth(entication)? (failed|required)/i;

/** Turns a client failure of either transport into the ApiError to answer with (no token, no command arguments). */
export function redisProblem(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const { name, message = "" } = (error ?? {}) as { name?: string; message?: string };
  if (error instanceof RedisTcpError) {
    return error.kind === "timeout"
      ? new ApiError(504, { code: "DATA_SOURCE_TIMEOUT", detail: "Redis did not answer in time (DATA_SOURCE_TIMEOUT_MS)." })
      : new ApiError(502, { code: "DATA_SOURCE_UNREACHABLE", detail: "The Redis server could not be reached." });
  }
  // Over TCP a reply error outside a pipeline is the handshake's: AUTH, or SELECT of the URL's database.
  if (isReplyError(error)) {
    return authFailure.test(message)
      ? new ApiError(502, { code: "DATA_SOURCE_AUTH_FAILED", detail: `Redis refused the stored password: ${message}` })
      : new ApiError(502, { code: "DATA_SOURCE_ERROR", detail: `Redis refused the connection: ${message}` });
  }
  if (name === "TimeoutError" || name === "AbortError") {
    return new ApiError(504, { code: "DATA_SOURCE_TIMEOUT", detail: "Redis did not answer in time (DATA_SOURCE_TIMEOUT_MS)." });
  }
  if (name === "UpstashJSONParseError") {
    return new ApiError(502, {
      code: "DATA_SOURCE_ERROR",
      detail: "The Redis URL answered with something other than Upstash's REST protocol.",
    });
  }
  const reason = message.replace(/, command was: [\s\S]*$/, "");
  if (name === "UpstashError") {
    if (authFailure.test(reason))
      return new ApiError(502, { code: "DATA_SOURCE_AUTH_FAILED", detail: `Redis refused the stored token: ${reason}` });
    return new ApiError(422, { code: "REDIS_COMMAND_FAILED", detail: `Redis refused the command: ${reason}` });
  }
  return new ApiError(502, { code: "DATA_SOURCE_UNREACHABLE", detail: "Redis's REST endpoint could not be reached." });
}

const client = (target: RedisTarget, timeoutMs: number) =>
  new Redis({
    url: target.credentials.url,
    token: target.credentials.token ?? "",
    retry: false,
    enableTelemetry: false,
    automaticDeserialization: false,
    signal: () => AbortSignal.timeout(timeoutMs),
  });

/** Upstash REST: one request (`/pipeline`, or `/multi-exec` when `atomic`). */
async function overRest(target: RedisTarget, commands: Command[], atomic: boolean, timeoutMs: number): Promise<Reply[]> {
  const redis = client(target, timeoutMs);
  const pipeline = (atomic ? redis.multi() : redis.pipeline()) as unknown as Chainable;
  for (const command of commands) pipeline.chain({ command, deserialize: (value) => value });
  return pipeline.exec({ keepErrors: true });
}

/** Sends commands over one transport, under a clock of `timeoutMs`. */
export type RedisTransportCall = (commands: Command[], atomic: boolean, timeoutMs: number) => Promise<Reply[]>;

/**
 * Sends `commands` over `transport` through source `id`'s breaker: outages (unreachable, timeout) count, a reply error
 * (WRONGTYPE, a refused command) is an answer and never does. `callerText`: a caller's pipeline may be slow on its own (a
 * long LRANGE), so an outage counts only if a PING fails too.
 */
export async function sendThrough(
  id: string,
  transport: RedisTransportCall,
  commands: Command[],
  { atomic, callerText, timeoutMs }: { atomic: boolean; callerText: boolean; timeoutMs: number },
): Promise<Reply[]> {
  return throughCircuit(
    id,
    async () => {
      try {
        const replies = await transport(commands, atomic, timeoutMs);
        const refused = replies.find((reply) => reply.error && authFailure.test(reply.error));
        if (refused)
          throw new ApiError(502, { code: "DATA_SOURCE_AUTH_FAILED", detail: `Redis refused the stored credentials: ${refused.error}` });
        return replies;
      } catch (error) {
        throw redisProblem(error);
      }
    },
    callerText
      ? {
          confirmOutage: async () =>
            !(await transport([["PING"]], false, Math.min(timeoutMs, 2_000)).then(
              () => true,
              () => false,
            )),
        }
      : {},
  );
}

/** TCP: the commands go to the source's SourceConnection, which sends them on a warm connection behind its own breaker. */
async function overSourceConnection(target: RedisTarget, commands: Command[], atomic: boolean, callerText: boolean): Promise<Reply[]> {
  const tcp = target.tcp;
  if (!tcp) throw new Error("A TCP Redis target needs its SourceConnection namespace (redisTarget sets it).");
  const stub = tcp.connections.get(tcp.connections.idFromName(target.id));
  // Replies are `unknown` to the RPC types, but Redis's are strings, numbers, nulls and arrays of them: they clone as they are.
  const answer = (await stub.redis({
    sourceId: target.id,
    address: parseRedisUrl(target.credentials.url, "url"),
    limits: { ...tcp.limits, timeoutMs: target.timeoutMs },
    commands,
    atomic,
    callerText,
  })) as Answer<Reply[]>;
  if (answer.ok) return answer.value;
  const { status, code, detail, headers } = answer.problem;
  throw new ApiError(status as ContentfulStatusCode, { code: code as ErrorCode, detail, headers });
}

/**
 * Sends `commands` in one round trip (a pipeline, or MULTI/EXEC when `atomic`), each answered by
 * its own result or error. Values stay as Redis sent them (no JSON guessing).
 */
export async function send(target: RedisTarget, commands: Command[], { atomic = false, callerText = false } = {}): Promise<Reply[]> {
  if (target.credentials.transport === "tcp") return overSourceConnection(target, commands, atomic, callerText);
  const rest: RedisTransportCall = (batch, inOne, timeoutMs) => overRest(target, batch, inOne, timeoutMs);
  return sendThrough(target.id, rest, commands, { atomic, callerText, timeoutMs: target.timeoutMs });
}

/** `send`, where any error is the request's: 422 REDIS_COMMAND_FAILED naming the command. */
export async function sendAll(target: RedisTarget, commands: Command[], options: { atomic?: boolean } = {}): Promise<unknown[]> {
  const replies = await send(target, commands, options);
  const failed = replies.findIndex((reply) => reply.error);
  if (failed >= 0) {
    throw new ApiError(422, {
      code: "REDIS_COMMAND_FAILED",
      detail: `Redis refused ${commands[failed]![0].toUpperCase()}: ${replies[failed]!.error}`,
    });
  }
  return replies.map((reply) => reply.result);
}
