// The local Neon gateway: Neon's SQL-over-HTTP protocol (as @neondatabase/serverless speaks it) in front of a SqlBackend.
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { BodyTooLarge, listen, readBody, sendJson, type Listening } from "../http.ts";
import type { IsolationLevel, SqlBackend, SqlQuery, SqlResult, TransactionOptions } from "./backend.ts";
import { isolationLevels } from "./backend.ts";

export interface NeonGatewayOptions {
  backend: SqlBackend;
  /** The only credentials and database the gateway accepts, as Neon's proxy checks them. */
  user: string;
  password: string;
  database: string;
  port?: number;
  maxBodyBytes?: number;
}

export interface NeonGateway extends Listening {
  /** The connection string a client uses; pair it with `neonConfig.fetchEndpoint = sqlEndpoint`. */
  connectionString: string;
  sqlEndpoint: string;
  /** HTTP requests answered on /sql since start (a batch is one): what a benchmark counts. */
  stats: { requests: number; traceparents: string[] };
  /** Fault injection (tests): latency added before each /sql request runs, so an outage can be timed to land mid-request. */
  faults: { delayMs: number };
}

/** A Postgres error as Neon returns it: HTTP 400, `message` plus the server's fields. */
const errorFields = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

function postgresError(error: unknown): Record<string, unknown> {
  const source = (error ?? {}) as Record<string, unknown>;
  const body: Record<string, unknown> = { message: error instanceof Error ? error.message : String(error) };
  for (const field of errorFields) if (source[field] !== undefined) body[field] = source[field];
  return body;
}

class RequestError extends Error {
  constructor(
    readonly body: Record<string, unknown>,
    readonly status = 400,
  ) {
    super(String(body.message));
  }
}

function checkCredentials(header: string | undefined, options: NeonGatewayOptions) {
  if (!header) throw new RequestError({ message: "missing Neon-Connection-String header", code: "08004" });
  let url: URL;
  try {
    url = new URL(header);
  } catch {
    throw new RequestError({ message: "invalid connection string", code: "08004" });
  }
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (user !== options.user || password !== options.password) {
    throw new RequestError({ message: `password authentication failed for user '${user}'`, code: "28P01", severity: "FATAL" });
  }
  if (database !== options.database) {
    throw new RequestError({ message: `database "${database}" does not exist`, code: "3D000", severity: "FATAL" });
  }
}

function parseQuery(value: unknown): SqlQuery {
  const candidate = value as { query?: unknown; params?: unknown } | null;
  if (typeof candidate?.query !== "string") throw new RequestError({ message: "each query needs a string `query`" });
  const params = candidate.params ?? [];
  if (!Array.isArray(params) || !params.every((p) => p === null || typeof p === "string")) {
    throw new RequestError({ message: "`params` must be an array of strings or nulls" });
  }
  return { query: candidate.query, params: params as (string | null)[] };
}

function booleanHeader(value: string | undefined): boolean | undefined {
  return value === undefined ? undefined : value === "true";
}

function transactionOptions(req: IncomingMessage): TransactionOptions {
  const level = req.headers["neon-batch-isolation-level"] as string | undefined;
  if (level !== undefined && !isolationLevels.includes(level as IsolationLevel)) {
    throw new RequestError({ message: `unknown isolation level ${level}` });
  }
  return {
    isolationLevel: level as IsolationLevel | undefined,
    readOnly: booleanHeader(req.headers["neon-batch-read-only"] as string | undefined),
    deferrable: booleanHeader(req.headers["neon-batch-deferrable"] as string | undefined),
  };
}

/** Without `Neon-Raw-Text-Output` Neon sends JSON values; without `Neon-Array-Mode`, objects. */
const numericTypes = new Set([20, 21, 23, 26, 700, 701]);
const jsonTypes = new Set([114, 3802]);

function shape(result: SqlResult, rawText: boolean, arrayMode: boolean) {
  const convert = (value: string | null, typeId: number): unknown => {
    if (rawText || value === null) return value;
    if (numericTypes.has(typeId)) return Number(value);
    if (typeId === 16) return value === "t";
    if (jsonTypes.has(typeId)) return JSON.parse(value);
    return value;
  };
  const rows = result.rows.map((row) => {
    const values = row.map((value, i) => convert(value, result.fields[i]?.dataTypeID ?? 25));
    return arrayMode ? values : Object.fromEntries(values.map((value, i) => [result.fields[i]?.name ?? `?column?`, value]));
  });
  return { command: result.command, rowCount: result.rowCount, fields: result.fields, rows, rowAsArray: arrayMode };
}

export async function startNeonGateway(options: NeonGatewayOptions): Promise<NeonGateway> {
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  // Requests so far, and the W3C traceparent of the latest ones that carried one (tests check callers forward theirs).
  const stats = { requests: 0, traceparents: [] as string[] };
  const faults = { delayMs: 0 };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? "/", "http://gateway").pathname;
    if (path === "/_gateway/stats") return sendJson(res, 200, stats);
    if (path !== "/sql") return sendJson(res, 404, { message: `no route ${path}; Neon's endpoint is POST /sql` });
    if (req.method !== "POST") return sendJson(res, 405, { message: "use POST" }, { allow: "POST" });
    stats.requests++;
    const traceparent = req.headers.traceparent;
    if (typeof traceparent === "string") stats.traceparents = [...stats.traceparents.slice(-99), traceparent];
    if (faults.delayMs > 0) {
      await sleep(faults.delayMs);
      // Cut off while waiting (a stopped gateway): like a proxy that died before forwarding, the query never runs.
      if (req.socket.destroyed) return;
    }
    try {
      checkCredentials(req.headers["neon-connection-string"] as string | undefined, options);
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req, maxBodyBytes));
      } catch (error) {
        if (error instanceof BodyTooLarge) throw new RequestError({ message: error.message }, 413);
        throw new RequestError({ message: "request body is not JSON" });
      }
      const rawText = req.headers["neon-raw-text-output"] === "true";
      const arrayMode = req.headers["neon-array-mode"] === "true";
      const batch = (body as { queries?: unknown }).queries;
      if (batch !== undefined) {
        if (!Array.isArray(batch)) throw new RequestError({ message: "`queries` must be an array" });
        const queries = batch.map(parseQuery);
        const results = await options.backend.transaction(queries, transactionOptions(req));
        return sendJson(res, 200, { results: results.map((result) => shape(result, rawText, arrayMode)) });
      }
      const result = await options.backend.query(parseQuery(body));
      return sendJson(res, 200, shape(result, rawText, arrayMode));
    } catch (error) {
      if (error instanceof RequestError) return sendJson(res, error.status, error.body);
      // A Postgres error (it has a SQLSTATE) is the client's to see; anything else is the gateway's fault.
      const code = (error as { code?: unknown } | null)?.code;
      const isPostgresError = typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
      return sendJson(res, isPostgresError ? 400 : 500, postgresError(error));
    }
  }

  const server = await listen(handle, options.port);
  const auth = `${encodeURIComponent(options.user)}:${encodeURIComponent(options.password)}`;
  return {
    ...server,
    stats,
    faults,
    sqlEndpoint: `${server.url}/sql`,
    connectionString: `postgresql://${auth}@localhost:${server.port}/${encodeURIComponent(options.database)}`,
  };
}
