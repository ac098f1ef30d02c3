// Which Redis commands a data-source pipeline may send: reads for members, writes for admins, nothing that administers the server.

/** Reading commands (data_sources:query). */
export const readCommands = new Set([
  "GET",
  "MGET",
  "STRLEN",
  "GETRANGE",
  "EXISTS",
  "TYPE",
  "TTL",
  "PTTL",
  "EXPIRETIME",
  "SCAN",
  "DBSIZE",
  "PING",
  "ECHO",
  "TIME",
  "HGET",
  "HMGET",
  "HGETALL",
  "HKEYS",
  "HVALS",
  "HLEN",
  "HEXISTS",
  "HSTRLEN",
  "HSCAN",
  "HRANDFIELD",
  "LRANGE",
  "LLEN",
  "LINDEX",
  "LPOS",
  "SMEMBERS",
  "SISMEMBER",
  "SMISMEMBER",
  "SCARD",
  "SSCAN",
  "SRANDMEMBER",
  "SINTER",
  "SUNION",
  "SDIFF",
  "SINTERCARD",
  "ZRANGE",
  "ZRANGEBYSCORE",
  "ZREVRANGE",
  "ZREVRANGEBYSCORE",
  "ZRANGEBYLEX",
  "ZSCORE",
  "ZMSCORE",
  "ZCARD",
  "ZCOUNT",
  "ZLEXCOUNT",
  "ZRANK",
  "ZREVRANK",
  "ZSCAN",
  "XLEN",
  "XRANGE",
  "XREVRANGE",
  "BITCOUNT",
  "GETBIT",
  "PFCOUNT",
]);

/** Writing commands (data_sources:write: admins and owners). */
export const writeCommands = new Set([
  "SET",
  "SETEX",
  "PSETEX",
  "SETNX",
  "MSET",
  "APPEND",
  "INCR",
  "INCRBY",
  "INCRBYFLOAT",
  "DECR",
  "DECRBY",
  "GETDEL",
  "GETSET",
  "SETRANGE",
  "DEL",
  "UNLINK",
  "EXPIRE",
  "PEXPIRE",
  "EXPIREAT",
  "PEXPIREAT",
  "PERSIST",
  "RENAME",
  "RENAMENX",
  "COPY",
  "HSET",
  "HSETNX",
  "HMSET",
  "HDEL",
  "HINCRBY",
  "HINCRBYFLOAT",
  "LPUSH",
  "RPUSH",
  "LPUSHX",
  "RPUSHX",
  "LPOP",
  "RPOP",
  "LSET",
  "LREM",
  "LTRIM",
  "LINSERT",
  "LMOVE",
  "SADD",
  "SREM",
  "SPOP",
  "SMOVE",
  "ZADD",
  "ZREM",
  "ZINCRBY",
  "ZPOPMIN",
  "ZPOPMAX",
  "ZREMRANGEBYRANK",
  "ZREMRANGEBYSCORE",
  "XADD",
  "XDEL",
  "XTRIM",
  "SETBIT",
  "PFADD",
]);

export type CommandClass = "read" | "write" | "refused";

/** ASCII upper case: Redis compares names and options byte-wise without case, so no other letters may count. */
const asciiUpper = (text: string) => text.replace(/[a-z]+/g, (letters) => letters.toUpperCase());

/**
 * A command's canonical name (what is checked and what is sent), or undefined when the name is not a plain command
 * word: Unicode that upper-cases to ASCII ("ſet" → "SET"), spaces, control bytes, a subcommand glued on.
 */
export function canonicalName(name: string): string | undefined {
  return /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(name) ? asciiUpper(name) : undefined;
}

/** Commands whose purpose is another logical database; never on the lists, named here so the refusal can say why. */
const databaseCommands = new Set(["SELECT", "MOVE", "SWAPDB", "MIGRATE"]);

/**
 * Options by which an allowed command would reach another logical database (`COPY src dst DB 3`); the source's database
 * (the one in its URL) is the only one a data source may touch.
 */
const databaseOptions: Record<string, (args: string[]) => boolean> = {
  COPY: (args) => args.slice(2).some((arg) => asciiUpper(arg) === "DB"),
};

/** Why a command may not be sent through a data source, or undefined when it may (then `classify` says which list). */
export function refusal(name: string, args: string[] = []): string | undefined {
  const upper = canonicalName(name);
  if (upper === undefined) return `${JSON.stringify(name.slice(0, 64))} is not a command name`;
  if (databaseCommands.has(upper) || databaseOptions[upper]?.(args)) return `${upper} would reach another database`;
  if (!readCommands.has(upper) && !writeCommands.has(upper)) return `${upper} is not on the allow-list`;
  return undefined;
}

/** FLUSHALL, CONFIG, EVAL, KEYS, MONITOR, DEBUG, SHUTDOWN…, anything unknown, and an argument naming a database are refused. */
export function classify(name: string, args: string[] = []): CommandClass {
  if (refusal(name, args) !== undefined) return "refused";
  return readCommands.has(canonicalName(name)!) ? "read" : "write";
}
