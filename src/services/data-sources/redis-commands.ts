// Which Redis commands a data-source pipeline may send: reads for members, writes for admins, nothing that administers the server.

/** Reading commands (data_sources:query). */
export const readCommands = new Set([
  "GET", "MGET", "STRLEN", "GETRANGE", "EXISTS", "TYPE", "TTL", "PTTL", "EXPIRETIME", "SCAN", "DBSIZE", "PING", "ECHO", "TIME",
  "HGET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HSTRLEN", "HSCAN", "HRANDFIELD",
  "LRANGE", "LLEN", "LINDEX", "LPOS",
  "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SSCAN", "SRANDMEMBER", "SINTER", "SUNION", "SDIFF", "SINTERCARD",
  "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX", "ZSCORE", "ZMSCORE", "ZCARD", "ZCOUNT", "ZLEXCOUNT", "ZRANK", "ZREVRANK", "ZSCAN",
  "XLEN", "XRANGE", "XREVRANGE", "BITCOUNT", "GETBIT", "PFCOUNT",
]);

/** Writing commands (data_sources:write: admins and owners). */
export const writeCommands = new Set([
  "SET", "SETEX", "PSETEX", "SETNX", "MSET", "APPEND", "INCR", "INCRBY", "INCRBYFLOAT", "DECR", "DECRBY", "GETDEL", "GETSET", "SETRANGE",
  "DEL", "UNLINK", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST", "RENAME", "RENAMENX", "COPY",
  "HSET", "HSETNX", "HMSET", "HDEL", "HINCRBY", "HINCRBYFLOAT",
  "LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LPOP", "RPOP", "LSET", "LREM", "LTRIM", "LINSERT", "LMOVE",
  "SADD", "SREM", "SPOP", "SMOVE",
  "ZADD", "ZREM", "ZINCRBY", "ZPOPMIN", "ZPOPMAX", "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE",
  "XADD", "XDEL", "XTRIM", "SETBIT", "PFADD",
]);

export type CommandClass = "read" | "write" | "refused";

/**
 * Options by which an allowed command would reach another logical database (`COPY src dst DB 3`); the source's database
 * is the only one a data source may touch. SELECT, MOVE, SWAPDB and MIGRATE are not on the lists at all.
 */
const databaseOptions: Record<string, (args: string[]) => boolean> = {
  COPY: (args) => args.slice(2).some((arg) => arg.toUpperCase() === "DB"),
};

/** FLUSHALL, CONFIG, EVAL, KEYS, MONITOR, DEBUG, SHUTDOWN…, anything unknown, and an argument naming a database are refused. */
export function classify(name: string, args: string[] = []): CommandClass {
  const upper = name.toUpperCase();
  if (databaseOptions[upper]?.(args)) return "refused";
  if (readCommands.has(upper)) return "read";
  if (writeCommands.has(upper)) return "write";
  return "refused";
}
