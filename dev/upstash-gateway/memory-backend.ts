// The embedded Redis engine: ioredis-mock (commands and Lua through fengari) behind the Upstash gateway.
import { exists as isRedisCommand } from "@ioredis/commands";
import RedisMock from "ioredis-mock";
import type { Command, RedisBackend, Reply } from "./backend.ts";
import { sha1 } from "./script-compat.ts";

type MockClient = Record<string, (...args: string[]) => Promise<unknown>> & {
  shaScripts: Record<string, string | undefined>;
  disconnect(): void;
};

/** Commands Upstash's REST API refuses too: they belong to a long-lived connection. */
const connectionCommands = new Set([
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "monitor",
  "quit",
  "reset",
  "select",
  "client",
  "hello",
  "auth",
  "sync",
]);

/**
 * ioredis-mock matches option keywords case-sensitively (`SET k v PX 100` works, `px` is ignored),
 * while Redis and @upstash/redis (which sends lower case) do not: keywords are upper-cased here,
 * from the first argument where options may start, skipping the values that keywords take.
 */
const optionsStartAt: Record<string, number> = {
  set: 2,
  getex: 1,
  expire: 2,
  pexpire: 2,
  zadd: 1,
  zrange: 3,
  zrangebyscore: 3,
  zrevrangebyscore: 3,
  scan: 1,
  hscan: 2,
  sscan: 2,
  zscan: 2,
};
const keywords = new Set([
  "NX",
  "XX",
  "GT",
  "LT",
  "CH",
  "INCR",
  "GET",
  "EX",
  "PX",
  "EXAT",
  "PXAT",
  "KEEPTTL",
  "PERSIST",
  "WITHSCORES",
  "LIMIT",
  "MATCH",
  "COUNT",
  "TYPE",
  "REV",
  "BYSCORE",
  "BYLEX",
]);
const takesValue = new Set(["EX", "PX", "EXAT", "PXAT", "MATCH", "COUNT", "TYPE"]);

function normalizeKeywords(command: string, args: string[]): string[] {
  const start = optionsStartAt[command];
  if (start === undefined) return args;
  return args.map((arg, i) => {
    const upper = arg.toUpperCase();
    const previous = args[i - 1]?.toUpperCase() ?? "";
    return i >= start && keywords.has(upper) && !takesValue.has(previous) ? upper : arg;
  });
}

/** Redis 7 scripts may start with `#!lua flags=…` (as @upstash/ratelimit's do); Lua 5.3 (fengari) does not parse it. */
const withoutShebang = (source: string) => (source.startsWith("#!") ? source.replace(/^#![^\n]*\n/, "") : source);

/** Redis refuses arithmetic on a value that is not an integer; ioredis-mock would answer NaN. */
const integerCommands = new Set(["incr", "incrby", "decr", "decrby"]);

export async function createMemoryBackend(): Promise<RedisBackend> {
  const mock = new RedisMock() as unknown as MockClient;

  /** ioredis-mock keeps loaded scripts but has no SCRIPT command; these three are what clients send. */
  async function script([sub, ...args]: string[]): Promise<Reply> {
    switch (sub?.toUpperCase()) {
      case "LOAD": {
        const [source] = args;
        if (source === undefined) throw new Error("ERR wrong number of arguments for 'script|load' command");
        const sha = sha1(source);
        mock.shaScripts[sha] = withoutShebang(source);
        return sha;
      }
      case "EXISTS":
        return args.map((sha) => (mock.shaScripts[sha.toLowerCase()] ? 1 : 0));
      case "FLUSH":
        for (const sha of Object.keys(mock.shaScripts)) delete mock.shaScripts[sha];
        return "OK";
      default:
        throw new Error(`ERR unknown subcommand '${sub ?? ""}'. Try SCRIPT LOAD, EXISTS or FLUSH.`);
    }
  }

  /** A real Redis command the engine implements, and not one that needs a connection of its own. */
  const supported = (command: string) =>
    command === "script" || (isRedisCommand(command) && !connectionCommands.has(command) && typeof mock[command] === "function");

  async function run([name, ...args]: Command): Promise<Reply> {
    const command = (name ?? "").toLowerCase();
    if (!supported(command)) throw new Error(`ERR unknown command '${name ?? ""}'`);
    if (command === "script") return script(args);
    if (command === "eval" && args[0] !== undefined) {
      // Known by the hash of what the client sent, run without the shebang fengari cannot parse.
      const [source, ...rest] = args;
      const result = (await mock.eval!(withoutShebang(source), ...rest)) as Reply;
      mock.shaScripts[sha1(source)] = withoutShebang(source);
      return result;
    }
    if (integerCommands.has(command) && args[0] !== undefined) {
      const current = (await mock.get!(args[0])) as string | null;
      if (current !== null && !/^-?\d+$/.test(current)) throw new Error("ERR value is not an integer or out of range");
    }
    return (await mock[command]!.apply(mock, normalizeKeywords(command, args))) as Reply;
  }

  // One command at a time, so that a MULTI/EXEC (or a Lua script) never interleaves with another request.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => {});
    return next;
  };
  const each = async (commands: Command[]) => {
    const out: (Reply | Error)[] = [];
    for (const command of commands) out.push(await run(command).catch((error: Error) => error));
    return out;
  };

  return {
    kind: "memory",
    exec: (command) => serialized(() => run(command)),
    pipeline: (commands) => serialized(() => each(commands)),
    multi: (commands) =>
      serialized(async () => {
        if (!commands.every(([name]) => supported((name ?? "").toLowerCase()))) {
          throw new Error("EXECABORT Transaction discarded because of previous errors.");
        }
        return each(commands);
      }),
    close: async () => mock.disconnect(),
  };
}
