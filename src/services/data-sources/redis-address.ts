// Where a Redis data source points: an Upstash REST origin (https://…) or a RESP server by redis:// / rediss:// URL.
// A TCP URL is parsed strictly: one host, a valid port, `/<db>` as its only path, no query or fragment, good % escapes.
import { ApiError, type FieldError } from "../../lib/problem.ts";
import { canonicalHost, enforceHost, parseOrigin } from "./network.ts";

export const redisTransports = ["tcp", "upstash-rest"] as const;
export type RedisTransport = (typeof redisTransports)[number];

/** A RESP server: where, as whom, which logical database, and whether TLS wraps it (rediss://). */
export interface RedisAddress {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number;
  tls: boolean;
}

/** The transport a URL means: redis:// and rediss:// speak RESP over TCP, http(s):// is Upstash's REST protocol. */
export const transportOf = (url: string): RedisTransport => (/^rediss?:\/\//i.test(url) ? "tcp" : "upstash-rest");

const invalid = (path: string, messages: string[]) =>
  new ApiError(400, {
    code: "VALIDATION_FAILED",
    detail: messages.map((message) => `${path} ${message}`).join("; "),
    errors: messages.map((message) => ({ path, message })) satisfies FieldError[],
  });

const decode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
};

/** `redis[s]://[user[:password]@]host[:port][/db]`, parsed strictly; a malformed part is a 400 naming `path`. */
export function parseRedisUrl(value: string, path: string): RedisAddress {
  const match = /^(rediss?):\/\/(?:([^@/?#]*)@)?(\[[^\]]*\]|[^:/?#@]*)(?::([^/?#]*))?(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i.exec(value);
  if (!match) throw invalid(path, ["must be redis://[user:password@]host[:port][/db] or rediss://…"]);
  const [, scheme = "", userinfo, rawHost = "", port = "", dbPath = "", query, fragment] = match;
  const messages: string[] = [];
  const host = canonicalHost(rawHost);
  if ("problem" in host) messages.push(`host ${host.problem}`);
  if (port !== "" && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65_535))
    messages.push("port must be a number from 1 to 65535");
  // The database is chosen here and only here: a path is a database number, nothing else.
  if (dbPath !== "" && dbPath !== "/" && !/^\/\d{1,5}$/.test(dbPath))
    messages.push("may only have a database number as its path (/0, /3…)");
  if (query !== undefined) messages.push("must not have a query string");
  if (fragment !== undefined) messages.push("must not have a fragment");
  const [rawUser = "", ...rest] = (userinfo ?? "").split(":");
  const username = decode(rawUser);
  const password = rest.length > 0 ? decode(rest.join(":")) : "";
  if (username === undefined || password === undefined) messages.push("has a malformed % escape");
  if (messages.length > 0 || "problem" in host) throw invalid(path, messages);
  return {
    host: host.host.replace(/^\[|\]$/g, ""),
    port: port ? Number(port) : 6379,
    username: username || undefined,
    password: password || undefined,
    db: dbPath.length > 1 ? Number(dbPath.slice(1)) : 0,
    tls: scheme.toLowerCase() === "rediss",
  };
}

/** The URL in canonical form, without its password (for display and storage beside it). */
export function canonicalRedisUrl(address: RedisAddress, { withPassword = true } = {}): string {
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  const user = address.username ? encodeURIComponent(address.username) : "";
  const secret = withPassword && address.password ? `:${encodeURIComponent(address.password)}` : "";
  const auth = user || secret ? `${user}${secret}@` : "";
  return `${address.tls ? "rediss" : "redis"}://${auth}${host}:${address.port}/${address.db}`;
}

/**
 * Checks a Redis URL of either transport against the parser and the network policy (422 naming `path`), and answers its
 * canonical form: an Upstash origin, or a redis[s]:// URL with its database.
 */
export function checkedRedisUrl(url: string, allowPrivate: boolean, path: string): { transport: RedisTransport; url: string } {
  if (transportOf(url) === "tcp") {
    const address = parseRedisUrl(url, path);
    enforceHost(address.host.includes(":") ? `[${address.host}]` : address.host, allowPrivate, path);
    return { transport: "tcp", url: canonicalRedisUrl(address) };
  }
  const { origin, host } = parseOrigin(url, path);
  enforceHost(host, allowPrivate, path);
  return { transport: "upstash-rest", url: origin };
}
