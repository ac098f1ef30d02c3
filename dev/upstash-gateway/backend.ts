// The contract every Redis backend behind the local Upstash gateway fulfils.

/** A Redis reply: bulk and simple strings may arrive as Buffers; errors are thrown, or returned inside pipelines. */
export type Reply = null | number | string | Buffer | Reply[] | { [field: string]: Reply };

export type Command = string[];

export interface RedisBackend {
  readonly kind: "memory" | "redis";
  exec(command: Command): Promise<Reply>;
  /** Each command's reply or error, in order, not atomically. */
  pipeline(commands: Command[]): Promise<(Reply | Error)[]>;
  /** MULTI … EXEC: all queued, run atomically; an invalid command aborts the whole transaction (thrown). */
  multi(commands: Command[]): Promise<(Reply | Error)[]>;
  close(): Promise<void>;
}

/** The backend could not reach its server: a 5xx for the client, unlike a Redis error reply. */
export class BackendUnavailable extends Error {}
