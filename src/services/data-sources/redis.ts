// External Redis over either transport, RESP over TCP (redis-tcp.ts) or Upstash's REST protocol (@upstash/redis):
// pipelines with timeouts, a circuit breaker and stable errors.
import { Redis } from "@upstash/redis/cloudflare";
import { ApiError } from "../../lib/problem.ts";
import { throughCircuit } from "./circuit.ts";
import { parseRedisUrl } from "./redis-address.ts";
import { connectRedis, isReplyError, type RedisConnection, RedisTcpError, sendOverTcp } from "./redis-tcp.ts";
import type { RedisCredentials } from "./registry.ts";

export interface RedisTarget {
  id: string;
  credentials: RedisCredentials;
  timeoutMs: number;
  maxBytes: number;
  /**
   * Over TCP, with a session: the calls of one request share a connection, opened on first use; `release` closes it.
   * Without one, each call connects and closes on its own.
   */
  session?: { connection?: Promise<RedisConnection> };
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

/** RESP over TCP: on the session's connection when there is one (a probe, with its own shorter clock, connects afresh). */
async function overTcp(target: RedisTarget, commands: Command[], atomic: boolean, timeoutMs: number): Promise<Reply[]> {
  const address = parseRedisUrl(target.credentials.url, "url");
  const { session } = target;
  if (!session || timeoutMs !== target.timeoutMs) return sendOverTcp(address, commands, { atomic, timeoutMs });
  session.connection ??= connectRedis(address, { timeoutMs });
  const connection = await session.connection.catch((error: unknown) => {
    session.connection = undefined;
    throw error;
  });
  return connection.send(commands, { atomic }).catch((error: unknown) => {
    // A connection that failed is not used again: the next call of the request connects afresh.
    if (session.connection) void release(target);
    throw error;
  });
}

/** Closes the session's connection, if one was opened. */
export async function release(target: RedisTarget) {
  const pending = target.session?.connection;
  if (!pending || !target.session) return;
  target.session.connection = undefined;
  (await pending.catch(() => undefined))?.close();
}

/** The source's transport, chosen by its stored credentials (sources registered before transports existed are REST). */
const overTransport = (target: RedisTarget, commands: Command[], atomic: boolean, timeoutMs: number) =>
  target.credentials.transport === "tcp" ? overTcp(target, commands, atomic, timeoutMs) : overRest(target, commands, atomic, timeoutMs);

/**
 * Sends `commands` in one round trip (a pipeline, or MULTI/EXEC when `atomic`), each answered by
 * its own result or error. Values stay as Redis sent them (no JSON guessing).
 */
export async function send(target: RedisTarget, commands: Command[], { atomic = false, callerText = false } = {}): Promise<Reply[]> {
  return throughCircuit(
    target.id,
    async () => {
      try {
        const replies = await overTransport(target, commands, atomic, target.timeoutMs);
        const refused = replies.find((reply) => reply.error && authFailure.test(reply.error));
        if (refused)
          throw new ApiError(502, { code: "DATA_SOURCE_AUTH_FAILED", detail: `Redis refused the stored credentials: ${refused.error}` });
        return replies;
      } catch (error) {
        throw redisProblem(error);
      }
    },
    // A caller's pipeline may be slow on its own (a long LRANGE): the breaker counts it only if a PING fails too.
    callerText
      ? {
          confirmOutage: async () =>
            !(await overTransport(target, [["PING"]], false, Math.min(target.timeoutMs, 2_000)).then(
              () => true,
              () => false,
            )),
        }
      : {},
  );
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
