// SourceConnection: one per registered data source. It owns the source's warm connections, its circuit breaker, a cap on
// calls at once and the call log its health and metrics are read from; routes reach it over RPC. It serves Postgres and
// Redis over TCP: each kind has its own pool and call method, and both record into the same breaker and log.
import { DurableObject } from "cloudflare:workers";
import { ApiError } from "../../lib/problem.ts";
import { circuitState, type CircuitState, resetCircuit, throughCircuit } from "../../services/data-sources/circuit.ts";
import type { PostgresAddress, Sslmode } from "../../services/data-sources/network.ts";
import { answers, openPool, type Pool, type RawResult, readOnlyTcp, type Step } from "../../services/data-sources/postgres-tcp.ts";
import type { RedisAddress } from "../../services/data-sources/redis-address.ts";
import { type Command, type Reply, sendThrough } from "../../services/data-sources/redis.ts";
import { sendOverTcp } from "../../services/data-sources/redis-tcp.ts";
import { RedisPool } from "./redis-pool.ts";
import { type CallFigures, callFigures, type Outcome, outageOutcomes, recordCall, setUpMetrics, WINDOW_MS } from "./metrics.ts";

/** A problem as it crosses RPC (an ApiError's class and fields do not). */
export interface WireProblem {
  status: number;
  code: string;
  detail: string;
  headers: Record<string, string>;
}

export type Answer<T> = { ok: true; value: T } | { ok: false; problem: WireProblem };

export interface SourceLimits {
  /** Warm connections kept, and the most open at once. */
  poolSize: number;
  /** Calls in progress at once; more are refused (503 DATA_SOURCE_BUSY) rather than queued without end. */
  maxConcurrent: number;
  timeoutMs: number;
}

export interface PostgresCall {
  sourceId: string;
  address: PostgresAddress;
  defaultSslmode: Sslmode;
  limits: SourceLimits;
  steps: Step[];
  /** The steps hold a caller's SQL: an outage-like failure is checked with a probe before it counts as the source's. */
  callerText: boolean;
}

export interface RedisCall {
  sourceId: string;
  /** The URL's server and database: every connection of the pool SELECTs that database, and no other. */
  address: RedisAddress;
  limits: SourceLimits;
  commands: Command[];
  atomic: boolean;
  /** A caller's pipeline: an outage-like failure is checked with a PING on a connection of its own before it counts. */
  callerText: boolean;
}

export interface SourceMetrics extends CallFigures {
  breaker: CircuitState;
  /** Connections kept warm, calls holding one now, calls waiting for one, and the cap on calls at once. */
  pool: { size: number; inUse: number; waiting: number; maxConcurrent: number };
}

export interface SourceHealth {
  status: "up" | "degraded" | "down" | "unknown";
  windowSeconds: number;
  calls: number;
  outages: number;
  lastCallAt: string | null;
  lastOutageAt: string | null;
  breaker: CircuitState;
}

const outcomeOf: Partial<Record<string, Outcome>> = {
  QUERY_FAILED: "query_failed",
  QUERY_NOT_READ_ONLY: "query_failed",
  QUERY_NOT_ALLOWED: "query_failed",
  RESULT_TOO_LARGE: "query_failed",
  REDIS_COMMAND_FAILED: "query_failed",
  QUERY_TIMEOUT: "query_timeout",
  DATA_SOURCE_TIMEOUT: "timeout",
  DATA_SOURCE_UNREACHABLE: "unreachable",
  DATA_SOURCE_AUTH_FAILED: "auth_failed",
  DATA_SOURCE_CIRCUIT_OPEN: "circuit_open",
  DATA_SOURCE_BUSY: "busy",
};

export class SourceConnection extends DurableObject<Cloudflare.Env> {
  private pool: { key: string; sql: Pool; size: number } | undefined;
  private redisPool: RedisPool | undefined;
  private inFlight = 0;
  private sourceId = "";
  private maxConcurrent = 0;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    setUpMetrics(ctx.storage);
  }

  /** Runs the steps in one read-only transaction on a warm connection, through the breaker, under the cap. */
  async postgres(call: PostgresCall): Promise<Answer<RawResult[]>> {
    this.sourceId = call.sourceId;
    this.maxConcurrent = call.limits.maxConcurrent;
    return this.measured(call.limits.maxConcurrent, () => {
      const pool = this.postgresPool(call);
      const deadline = { statementTimeoutMs: Math.max(100, call.limits.timeoutMs - 500), deadlineMs: call.limits.timeoutMs };
      return throughCircuit(
        call.sourceId,
        () => readOnlyTcp(pool, call.steps, deadline),
        call.callerText ? { confirmOutage: async () => !(await answers(pool, Math.min(call.limits.timeoutMs, 2_000))) } : {},
      );
    });
  }

  /** Sends the commands on a warm connection of the source's pool, through the breaker, under the cap. */
  async redis(call: RedisCall): Promise<Answer<Reply[]>> {
    this.sourceId = call.sourceId;
    this.maxConcurrent = call.limits.maxConcurrent;
    return this.measured(call.limits.maxConcurrent, () => {
      const pool = this.redisPoolFor(call);
      return sendThrough(
        call.sourceId,
        // The probe (its own shorter clock) connects afresh: a pooled connection says nothing about a new one.
        (commands, atomic, timeoutMs) =>
          timeoutMs === call.limits.timeoutMs
            ? pool.use((connection) => connection.send(commands, { atomic }), timeoutMs)
            : sendOverTcp(call.address, commands, { atomic, timeoutMs }),
        call.commands,
        { atomic: call.atomic, callerText: call.callerText, timeoutMs: call.limits.timeoutMs },
      );
    });
  }

  metrics(): SourceMetrics {
    const size = this.pool?.size ?? this.redisPool?.size ?? 0;
    return {
      ...callFigures(this.ctx.storage, Date.now()),
      breaker: circuitState(this.sourceId),
      // Each call holds one connection for its transaction; calls beyond the pool's size wait for one.
      pool: { size, inUse: Math.min(this.inFlight, size), waiting: Math.max(0, this.inFlight - size), maxConcurrent: this.maxConcurrent },
    };
  }

  /** Up, degraded (some outages in the hour, breaker closed), down (breaker open or the last call an outage), or no calls yet. */
  health(): SourceHealth {
    const figures = callFigures(this.ctx.storage, Date.now());
    const breaker = circuitState(this.sourceId);
    const outages = outageOutcomes.reduce((sum, outcome) => sum + figures.outcomes[outcome], 0);
    const lastWasOutage = figures.lastOutageAt !== null && figures.lastOutageAt === figures.lastCallAt;
    const status = breaker.state === "open" || lastWasOutage ? "down" : figures.calls === 0 ? "unknown" : outages > 0 ? "degraded" : "up";
    return {
      status,
      windowSeconds: WINDOW_MS / 1000,
      calls: figures.calls,
      outages,
      lastCallAt: figures.lastCallAt,
      lastOutageAt: figures.lastOutageAt,
      breaker,
    };
  }

  /** Closes the connections and forgets the breaker (the source's settings changed, or it was deleted). */
  async reset(sourceId: string): Promise<void> {
    resetCircuit(sourceId);
    const pool = this.pool;
    this.pool = undefined;
    this.redisPool?.close();
    this.redisPool = undefined;
    await pool?.sql.end({ timeout: 2 }).catch(() => undefined);
  }

  /** The Redis pool for this address: the warm one, or a new one when the URL or limits changed. */
  private redisPoolFor(call: RedisCall): RedisPool {
    const key = JSON.stringify([call.address, call.limits.poolSize, call.limits.timeoutMs]);
    if (this.redisPool?.key === key) return this.redisPool;
    this.redisPool?.close();
    this.redisPool = new RedisPool(key, call.address, call.limits.poolSize, {
      timeoutMs: call.limits.timeoutMs,
      name: `datacrafted:${call.sourceId}`,
    });
    return this.redisPool;
  }

  /** The pool for these credentials: the warm one, or a new one when the credentials changed. */
  private postgresPool(call: PostgresCall): Pool {
    const key = JSON.stringify([call.address, call.defaultSslmode, call.limits.poolSize]);
    if (this.pool?.key === key) return this.pool.sql;
    void this.pool?.sql.end({ timeout: 2 }).catch(() => undefined);
    const sql = openPool(call.address, {
      size: call.limits.poolSize,
      defaultSslmode: call.defaultSslmode,
      applicationName: `datacrafted ${call.sourceId}`,
      connectTimeoutMs: call.limits.timeoutMs,
    });
    this.pool = { key, sql, size: call.limits.poolSize };
    return sql;
  }

  /** Counts the call against the cap, records how it ended and how long it took, and hands the problem across as data. */
  private async measured<T>(cap: number, run: () => Promise<T>): Promise<Answer<T>> {
    const started = performance.now();
    const at = Date.now();
    if (this.inFlight >= cap) {
      recordCall(this.ctx.storage, at, 0, "busy");
      return {
        ok: false,
        problem: {
          status: 503,
          code: "DATA_SOURCE_BUSY",
          detail: `This data source already has ${cap} calls in progress (DATA_SOURCE_MAX_CONCURRENT); try again shortly.`,
          headers: { "Retry-After": "1" },
        },
      };
    }
    this.inFlight++;
    try {
      const value = await run();
      recordCall(this.ctx.storage, at, performance.now() - started, "ok");
      return { ok: true, value };
    } catch (error) {
      const problem =
        error instanceof ApiError
          ? error
          : new ApiError(502, { code: "DATA_SOURCE_ERROR", detail: "The call to the data source failed unexpectedly." });
      recordCall(this.ctx.storage, at, performance.now() - started, outcomeOf[problem.code] ?? "error");
      return { ok: false, problem: { status: problem.status, code: problem.code, detail: problem.detail, headers: problem.headers } };
    } finally {
      this.inFlight--;
    }
  }
}
