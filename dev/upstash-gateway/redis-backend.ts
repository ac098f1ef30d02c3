// A real Redis server behind the Upstash gateway, through ioredis with raw (Buffer) replies.
import Redis from "ioredis";
import { BackendUnavailable, type Command, type RedisBackend, type Reply } from "./backend.ts";
import { ScriptCompat } from "./script-compat.ts";

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
  const scripts = new ScriptCompat();
  /** Sends commands (rewritten for script compatibility) and maps each reply back. */
  const batch = async (commands: Command[], queue: ReturnType<typeof client.pipeline>) => {
    const rewritten = commands.map((command) => scripts.rewrite(command));
    for (const {
      command: [name, ...args],
    } of rewritten)
      queue.callBuffer(name ?? "", ...args);
    return results(await guarded(queue.exec())).map((reply, i) => {
      const map = rewritten[i]?.reply;
      return map && !(reply instanceof Error) ? (map(reply) as Reply) : reply;
    });
  };
  return {
    kind: "redis",
    async exec(original: Command) {
      const {
        command: [name, ...args],
        reply,
      } = scripts.rewrite(original);
      const result = (await guarded(client.callBuffer(name ?? "", ...args))) as Reply;
      return reply ? (reply(result) as Reply) : result;
    },
    pipeline: (commands) => batch(commands, client.pipeline()),
    multi: (commands) => batch(commands, client.multi()),
    close: async () => {
      client.disconnect();
    },
  };
}
