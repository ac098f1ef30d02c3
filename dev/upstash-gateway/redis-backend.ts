// A real Redis server behind the Upstash gateway, through ioredis with raw (Buffer) replies.
import Redis from "ioredis";
import { BackendUnavailable, type Command, type RedisBackend, type Reply } from "./backend.ts";

function results(replies: [Error | null, unknown][] | null): (Reply | Error)[] {
  return (replies ?? []).map(([error, reply]) => error ?? (reply as Reply));
}

/** Redis' own error replies pass through; anything else means the server is out of reach. */
async function guarded<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof Error && error.name === "ReplyError") throw error;
    throw new BackendUnavailable(`Redis unavailable: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function createRedisBackend(url: string): Promise<RedisBackend> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3_000 });
  // Connection errors surface on the command that needed the connection; don't crash the gateway.
  client.on("error", () => {});
  await client.connect();
  return {
    kind: "redis",
    exec: ([name, ...args]: Command) => guarded(client.callBuffer(name ?? "", ...args) as Promise<Reply>),
    async pipeline(commands) {
      const pipeline = client.pipeline();
      for (const [name, ...args] of commands) pipeline.callBuffer(name ?? "", ...args);
      return results(await guarded(pipeline.exec()));
    },
    async multi(commands) {
      const multi = client.multi();
      for (const [name, ...args] of commands) multi.callBuffer(name ?? "", ...args);
      return results(await guarded(multi.exec()));
    },
    close: async () => {
      client.disconnect();
    },
  };
}
