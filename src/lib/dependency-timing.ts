// Time a request spends waiting on its dependencies (Postgres, data sources), for its Analytics Engine data point.
// Redis is not timed: wrapping the Upstash client's requests (Redis.use) slowed requests measurably while Redis was down.
import { AsyncLocalStorage } from "node:async_hooks";

export type Dependency = "postgres" | "dataSource";
export type DependencyTimings = Record<Dependency, { calls: number; ms: number }>;

const current = new AsyncLocalStorage<DependencyTimings>();

export const newTimings = (): DependencyTimings => ({
  postgres: { calls: 0, ms: 0 },
  dataSource: { calls: 0, ms: 0 },
});

/** Runs `fn` (a request) with every timed call inside it added to `timings`. */
export const withTimings = <T>(timings: DependencyTimings, fn: () => T): T => current.run(timings, fn);

/**
 * Times one call to `dependency` for the request in progress (nothing outside one). Calls made at once add their
 * durations, so the figure is the time spent in calls, which may exceed the request's own.
 */
export async function timed<T>(dependency: Dependency, work: () => Promise<T>): Promise<T> {
  const timings = current.getStore();
  if (!timings) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[dependency].calls++;
    timings[dependency].ms += performance.now() - started;
  }
}
