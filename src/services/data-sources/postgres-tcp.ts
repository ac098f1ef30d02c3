// The TCP transport for Postgres sources: a postgres.js pool over cloudflare:sockets (see postgres-socket.ts), and one
// read-only transaction per call in which each statement goes alone through the extended protocol, under a statement
// timeout set before it and a deadline that cancels the statement on the server when the timeout did not stop it.
import postgres from "postgres";
import { ApiError } from "../../lib/problem.ts";
import type { PostgresAddress, Sslmode } from "./network.ts";
import { postgresProblem } from "./postgres-errors.ts";
import { openSocket } from "./postgres-socket.ts";

/** One statement and its bind parameters. */
export interface Step {
  text: string;
  params: unknown[];
}

/** A statement's answer as Postgres sent it: column names and type OIDs, values in text format (as Neon's HTTP answers). */
export interface RawResult {
  fields: { name: string; dataTypeID: number }[];
  rows: (string | null)[][];
}

export type Pool = postgres.Sql;

export interface PoolOptions {
  /** Warm connections kept (and the most opened at once). */
  size: number;
  /** When the connection string names no sslmode: `require`, or `disable` in development and tests. */
  defaultSslmode: Sslmode;
  /** Shown in pg_stat_activity, so the source's admins can tell our sessions apart. */
  applicationName: string;
  connectTimeoutMs: number;
}

/**
 * postgres.js options its type declarations leave out: `socket` (a factory for the connection's socket) and `simple` on
 * unsafe() (false: the extended protocol even without parameters; the driver would pick the simple one, which runs several).
 */
type DriverOptions = postgres.Options<Record<string, never>> & { socket: () => Promise<unknown> };
const extended = { prepare: false, simple: false } as postgres.UnsafeQueryOptions;

export function openPool(address: PostgresAddress, options: PoolOptions): Pool {
  const sslmode = address.sslmode ?? options.defaultSslmode;
  const driverOptions: DriverOptions = {
    host: address.host,
    port: address.port,
    database: address.database,
    username: address.user,
    password: address.password,
    // TLS is negotiated by the socket, before the driver speaks.
    ssl: false,
    socket: () => openSocket(address.host, address.port, sslmode),
    max: options.size,
    idle_timeout: 60,
    max_lifetime: 30 * 60,
    connect_timeout: Math.max(1, Math.ceil(options.connectTimeoutMs / 1000)),
    // Unnamed statements: nothing of a caller's query outlives its call on the connection.
    prepare: false,
    fetch_types: false,
    connection: { application_name: options.applicationName },
    onnotice: () => {},
  };
  return postgres(driverOptions);
}

/** The driver's own failures (no SQLSTATE): the connection could not be made or was lost. */
function transportProblem(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const failure = error as { name?: string; code?: string; message?: string } | undefined;
  if (failure?.name === "PostgresError") return postgresProblem(error);
  if (failure?.code === "CONNECT_TIMEOUT")
    return new ApiError(504, { code: "DATA_SOURCE_TIMEOUT", detail: "The database did not accept a connection in time." });
  if (failure?.code === "SSL_REFUSED") return new ApiError(502, { code: "DATA_SOURCE_UNREACHABLE", detail: failure.message ?? "" });
  return new ApiError(502, { code: "DATA_SOURCE_UNREACHABLE", detail: "The database could not be reached, or it closed the connection." });
}

const text = (value: Buffer | null) => (value === null ? null : value.toString("utf8"));

export interface Deadline {
  /** Set with SET LOCAL before every statement: Postgres stops the statement itself. */
  statementTimeoutMs: number;
  /** When the call gives up: the running statement is cancelled on the server (a CancelRequest) and the call is a timeout. */
  deadlineMs: number;
}

/**
 * Runs `steps` in order in one `BEGIN READ ONLY` transaction on a pooled connection, each after `SET LOCAL statement_timeout`,
 * each alone through the extended protocol (a prepared statement refuses a second command). Always rolled back.
 */
export async function readOnlyTcp(pool: Pool, steps: Step[], deadline: Deadline): Promise<RawResult[]> {
  let running: postgres.PendingQuery<postgres.Row[]> | undefined;
  let expired = false;
  let giveUp: () => void = () => {};
  // Waiting for a connection that never comes (the source is gone) cannot be cancelled on the server: the call stops anyway.
  const abandoned = new Promise<never>((_, reject) => {
    giveUp = () => reject(new Error("deadline"));
  });
  const timer = setTimeout(() => {
    expired = true;
    if (running) running.cancel();
    else giveUp();
  }, deadline.deadlineMs);
  const arm = `SET LOCAL statement_timeout = ${Math.max(1, Math.floor(deadline.statementTimeoutMs))}`;
  const work = pool.begin("READ ONLY", async (tx) => {
    // Strings as the parser that checked the query read them (a server set otherwise would read backslashes differently).
    // The settings and the statement are pipelined (one round trip): if a setting fails, the aborted transaction refuses the rest.
    const conforming = tx.unsafe("SET LOCAL standard_conforming_strings = on", [], extended);
    const results: RawResult[] = [];
    for (const step of steps) {
      if (expired) throw new Error("deadline");
      const armed = tx.unsafe(arm, [], extended);
      running = tx.unsafe(step.text, step.params as postgres.ParameterOrJSON<never>[], extended);
      const [, , raw] = await Promise.all([conforming, armed, running.raw()]);
      const rows = raw as unknown as (Buffer | null)[][] & { columns?: { name: string; type: number }[] };
      running = undefined;
      results.push({
        fields: (rows.columns ?? []).map((column) => ({ name: column.name, dataTypeID: column.type })),
        rows: rows.map((row) => row.map(text)),
      });
    }
    // Nothing is ever committed: the transaction is read-only, and it ends here whatever it did.
    throw new Rollback(results);
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, abandoned]);
  } catch (error) {
    if (error instanceof Rollback) return error.results;
    if (expired) {
      throw new ApiError(504, { code: "DATA_SOURCE_TIMEOUT", detail: "The database did not answer in time (DATA_SOURCE_TIMEOUT_MS)." });
    }
    throw transportProblem(error);
  } finally {
    clearTimeout(timer);
  }
}

/** Carries the results out of `begin`, which then rolls back. */
class Rollback {
  constructor(readonly results: RawResult[]) {}
}

/** `SELECT 1` on its own connection, short clock: is the source up? (the breaker's probe after a caller's timeout) */
export async function answers(pool: Pool, timeoutMs: number): Promise<boolean> {
  const probe = pool.unsafe("SELECT 1", [], extended);
  const timer = setTimeout(() => probe.cancel(), timeoutMs);
  try {
    await probe;
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
