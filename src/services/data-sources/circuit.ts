// A circuit breaker per data source, in the isolate's memory: after repeated outages, calls fail fast for a while.
import { ApiError } from "../../lib/problem.ts";

export interface CircuitOptions {
  /** Consecutive outages (unreachable, timeout) that open the circuit. */
  threshold?: number;
  /** How long it stays open before one trial call may pass. */
  openMs?: number;
  /**
   * For calls whose text a caller wrote: asked after an outage-like failure whether the source itself is down (a probe of
   * its own). When it is up, the failure was the caller's (a query that outran its time, a killed session) and counts for nothing.
   */
  confirmOutage?: () => Promise<boolean>;
}

interface State {
  failures: number;
  openUntil: number;
}

const states = new Map<string, State>();
const MAX_TRACKED = 10_000;

/** Only outages count: a wrong password or a bad query is an answer, and the source is up. */
export const isOutage = (error: unknown) =>
  error instanceof ApiError && (error.code === "DATA_SOURCE_UNREACHABLE" || error.code === "DATA_SOURCE_TIMEOUT");

/**
 * Runs `call` for source `id` unless its circuit is open (503 DATA_SOURCE_CIRCUIT_OPEN with
 * Retry-After). Outages count towards opening it; any answer closes it again.
 */
export async function throughCircuit<T>(
  id: string,
  call: () => Promise<T>,
  { threshold = 5, openMs = 30_000, confirmOutage }: CircuitOptions = {},
): Promise<T> {
  const state = states.get(id);
  const now = Date.now();
  if (state && state.openUntil > now) {
    throw new ApiError(503, {
      code: "DATA_SOURCE_CIRCUIT_OPEN",
      detail: `This data source failed ${state.failures} times in a row; calls to it pause until it has had time to recover.`,
      headers: { "Retry-After": String(Math.ceil((state.openUntil - now) / 1000)) },
    });
  }
  try {
    const result = await call();
    states.delete(id);
    return result;
  } catch (error) {
    if (isOutage(error) && confirmOutage && !(await confirmOutage().catch(() => true))) {
      throw callersOwn(error as ApiError);
    }
    if (isOutage(error)) {
      if (states.size >= MAX_TRACKED && !states.has(id)) states.delete(states.keys().next().value!);
      const failures = (state?.failures ?? 0) + 1;
      states.set(id, { failures, openUntil: failures >= threshold ? Date.now() + openMs : 0 });
    } else if (!(error instanceof ApiError && error.status >= 500)) {
      states.delete(id);
    }
    throw error;
  }
}

/** An outage-like failure of a caller's own call while the source answers probes: the caller's problem, not the source's. */
function callersOwn(error: ApiError): ApiError {
  if (error.code !== "DATA_SOURCE_TIMEOUT") return error;
  return new ApiError(422, {
    code: "QUERY_TIMEOUT",
    detail: "The query ran longer than DATA_SOURCE_TIMEOUT_MS and was abandoned; the source itself is answering.",
  });
}

/** Forgets a source's failures (its settings changed, or it was deleted). */
export const resetCircuit = (id: string) => void states.delete(id);

export interface CircuitState {
  state: "closed" | "open" | "half-open";
  /** Outages in a row so far. */
  failures: number;
  /** While open: seconds until one trial call may pass. */
  retryAfterSeconds: number | null;
}

/** Where source `id`'s breaker stands (half-open: its pause is over and the next call is the trial). */
export function circuitState(id: string): CircuitState {
  const state = states.get(id);
  if (!state) return { state: "closed", failures: 0, retryAfterSeconds: null };
  const left = state.openUntil - Date.now();
  if (state.openUntil === 0) return { state: "closed", failures: state.failures, retryAfterSeconds: null };
  return left > 0
    ? { state: "open", failures: state.failures, retryAfterSeconds: Math.ceil(left / 1000) }
    : { state: "half-open", failures: state.failures, retryAfterSeconds: null };
}
