// The local Upstash gateway: Upstash's REST protocol (as @upstash/redis speaks it) in front of a RedisBackend.
import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLarge, listen, readBody, sendJson, type Listening } from "../http.ts";
import { BackendUnavailable, type Command, type RedisBackend, type Reply } from "./backend.ts";

export interface UpstashGatewayOptions {
  backend: RedisBackend;
  /** The bearer token every request must carry. */
  token: string;
  port?: number;
  maxBodyBytes?: number;
}

export interface UpstashGateway extends Listening {
  token: string;
  /** HTTP requests answered since start (a pipeline is one): what a benchmark counts. */
  /** HTTP requests since start, and the Redis commands in them (a pipeline of n is one request, n commands): what a benchmark counts. */
  stats: { requests: number; commands: number };
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Upstash answers strings base64-encoded when asked (`Upstash-Encoding: base64`), except the
 * status reply OK, which the client special-cases. Integers stay numbers; nil stays null.
 */
function encode(reply: Reply, base64: boolean): unknown {
  if (reply === null || typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item) => encode(item, base64));
  // ioredis (and its mock) turn HGETALL into an object; on the wire it is a flat field/value list.
  if (typeof reply === "object" && !Buffer.isBuffer(reply)) {
    return Object.entries(reply as Record<string, Reply>).flatMap(([field, value]) => [encode(field, base64), encode(value, base64)]);
  }
  const bytes = typeof reply === "string" ? Buffer.from(reply, "utf8") : reply;
  if (!base64) return bytes.toString("utf8");
  return bytes.length === 2 && bytes.toString("latin1") === "OK" ? "OK" : bytes.toString("base64");
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function toCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0) throw new RequestError(400, "ERR a command is a non-empty JSON array");
  return value.map((part) => {
    if (typeof part === "string") return part;
    if (typeof part === "number" || typeof part === "boolean") return String(part);
    throw new RequestError(400, "ERR command arguments must be strings or numbers");
  });
}

function toCommands(value: unknown): Command[] {
  if (!Array.isArray(value)) throw new RequestError(400, "ERR expected a JSON array of commands");
  return value.map(toCommand);
}

function authorized(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization;
  const given = header?.startsWith("Bearer ") ? header.slice(7) : url.searchParams.get("_token");
  return given === token;
}

export async function startUpstashGateway(options: UpstashGatewayOptions): Promise<UpstashGateway> {
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const stats = { requests: 0, commands: 0 };
  let syncToken = 0;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://gateway");
    // Round trips so far, for benchmarks (not a Redis command: Upstash has no such path).
    if (url.pathname === "/_gateway/stats") return sendJson(res, 200, stats);
    stats.requests++;
    if (!authorized(req, url, options.token)) return sendJson(res, 401, { error: "Unauthorized" });
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    // Read-your-writes: the client echoes this token; one process is always consistent with itself.
    const headers = { "upstash-sync-token": String(++syncToken) };
    const item = (reply: Reply | Error) => (reply instanceof Error ? { error: errorMessage(reply) } : { result: encode(reply, base64) });

    try {
      const raw = req.method === "POST" ? await readBody(req, maxBodyBytes) : "";
      const body = (): unknown => {
        try {
          return JSON.parse(raw);
        } catch {
          throw new RequestError(400, "ERR request body is not JSON");
        }
      };
      if (url.pathname === "/pipeline" && req.method === "POST") {
        const commands = toCommands(body());
        stats.commands += commands.length;
        const replies = await options.backend.pipeline(commands);
        return sendJson(res, 200, replies.map(item), headers);
      }
      if (url.pathname === "/multi-exec" && req.method === "POST") {
        const commands = toCommands(body());
        stats.commands += commands.length;
        const replies = await options.backend.multi(commands);
        return sendJson(res, 200, replies.map(item), headers);
      }
      // POST / with a JSON command, or the path form: GET|POST /set/key/value (a POST body is the last argument).
      const pathArgs = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
      let command: Command;
      if (pathArgs.length === 0) {
        if (req.method !== "POST") throw new RequestError(405, "ERR send a command as POST / with a JSON array");
        command = toCommand(body());
      } else {
        command = raw ? [...pathArgs, raw] : pathArgs;
      }
      stats.commands++;
      const reply = await options.backend.exec(command);
      return sendJson(res, 200, { result: encode(reply, base64) }, headers);
    } catch (error) {
      if (error instanceof RequestError) return sendJson(res, error.status, { error: error.message });
      if (error instanceof BackendUnavailable) return sendJson(res, 503, { error: error.message });
      if (error instanceof BodyTooLarge) return sendJson(res, 413, { error: `ERR ${error.message}` });
      return sendJson(res, 400, { error: errorMessage(error) }, headers);
    }
  }

  const server = await listen(handle, options.port);
  return { ...server, token: options.token, stats };
}
