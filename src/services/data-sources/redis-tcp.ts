// RESP over TCP with node-redis (@redis/client, through node:net / node:tls with nodejs_compat): connect, send, close.
// Connections are kept warm by the source's SourceConnection object (redis-pool.ts); a probe connects on its own. ioredis 5 was tried first: under workerd its `debug` import resolves to itself and recurses.
import { createClient, ErrorReply, MultiErrorReply } from "@redis/client";
import type { RedisAddress } from "./redis-address.ts";
import type { Command, Reply } from "./redis.ts";

export interface RedisConnection {
  /** `commands` in one round trip (a MULTI/EXEC when `atomic`), each answered by its own result or error. */
  send(commands: Command[], options?: { atomic?: boolean }): Promise<Reply[]>;
  /** Still connected and usable (false once the server closed it, or a deadline destroyed it). */
  readonly ready: boolean;
  close(): void;
}

/** A connection or deadline failure of the transport (not a reply of the server). */
export class RedisTcpError extends Error {
  override name = "RedisTcpError";
  constructor(
    readonly kind: "unreachable" | "timeout",
    message: string,
  ) {
    super(message);
  }
}

/** A reply error of the server during the handshake (WRONGPASS, NOAUTH, a database that does not exist). */
export const isReplyError = (error: unknown): error is Error => error instanceof ErrorReply;

type Client = ReturnType<typeof createClient>;

/** Rejects after `ms` with a timeout, destroying `client` so its socket does not outlive the call. */
function deadline<T>(work: Promise<T>, ms: number, client: Client): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      client.destroy();
      reject(new RedisTcpError("timeout", `no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/** An answer of the server as the REST transport gives it: a result, or the error's text. */
const replyOf = (value: unknown): Reply => (value instanceof ErrorReply ? { error: value.message } : { result: value });

/** What a failed send means: a server's reply error stays one; anything else is the transport's. */
function transportError(error: unknown): unknown {
  if (error instanceof RedisTcpError || error instanceof ErrorReply) return error;
  return new RedisTcpError("unreachable", (error as Error)?.message ?? "connection lost");
}

/**
 * Opens a connection to `address` (AUTH and SELECT of its database in the handshake: the caller never chooses the
 * database) and answers once it is ready, or rejects with RedisTcpError (or the server's ErrorReply) within `timeoutMs`.
 */
export async function connectRedis(
  address: RedisAddress,
  { timeoutMs, name }: { timeoutMs: number; name?: string },
): Promise<RedisConnection> {
  const client: Client = createClient({
    // RESP2: replies shaped as Upstash's REST protocol gives them (flat arrays for HGETALL, strings for scores).
    RESP: 2,
    username: address.username,
    password: address.password,
    database: address.db,
    // CLIENT SETNAME in the handshake, so the source's admins (and our tests) can tell our connections apart.
    ...(name ? { name } : {}),
    disableClientInfo: true,
    socket: {
      host: address.host,
      port: address.port,
      connectTimeout: timeoutMs,
      // One attempt, no reconnection: a failure is an answer, fast.
      reconnectStrategy: false,
      ...(address.tls ? { tls: true as const, servername: address.host } : {}),
    },
  });
  // Failures also reject the call that met them; without a listener node-redis would throw them as events.
  client.on("error", () => {});
  try {
    await deadline(client.connect(), timeoutMs, client);
  } catch (error) {
    client.destroy();
    throw transportError(error);
  }
  return {
    async send(commands, { atomic = false } = {}) {
      try {
        if (atomic) {
          const multi = client.multi();
          for (const command of commands) multi.addCommand(command);
          const replies = await deadline(multi.exec(), timeoutMs, client).catch((error: unknown) => {
            if (error instanceof MultiErrorReply) return error.replies as unknown[];
            throw error;
          });
          return replies.map(replyOf);
        }
        // Commands sent in the same tick go out together: one round trip.
        const settled = await deadline(Promise.allSettled(commands.map((command) => client.sendCommand(command))), timeoutMs, client);
        const lost = settled.find((outcome) => outcome.status === "rejected" && !(outcome.reason instanceof ErrorReply));
        if (lost) throw (lost as PromiseRejectedResult).reason;
        return settled.map((outcome) => replyOf(outcome.status === "fulfilled" ? outcome.value : outcome.reason));
      } catch (error) {
        const reason = transportError(error);
        // EXECABORT (a command refused while queueing) answers every command of the transaction.
        if (reason instanceof ErrorReply) return commands.map(() => ({ error: reason.message }));
        throw reason;
      }
    },
    get ready() {
      return client.isReady;
    },
    close() {
      client.destroy();
    },
  };
}

/** One call over a connection of its own: connect, send, close. */
export async function sendOverTcp(
  address: RedisAddress,
  commands: Command[],
  { atomic = false, timeoutMs }: { atomic?: boolean; timeoutMs: number },
): Promise<Reply[]> {
  const connection = await connectRedis(address, { timeoutMs });
  try {
    return await connection.send(commands, { atomic });
  } finally {
    connection.close();
  }
}
