// Waiting in tests for what happens after a response (queue jobs, cron recovery, audit rows, expiry): a bounded poll.
// The bound is generous because a loaded machine is slow; a passing test returns as soon as the value is there.

/** How long a poll may take before the test's own assertion reports what it saw (under the workers' testTimeout). */
export const EVENTUALLY_TIMEOUT_MS = 90_000;

/** The longest pause between polls: a probe through the API stays under the free tier's 100 requests a minute. */
const MAX_INTERVAL_MS = 1_000;

/** Pauses `intervalMs` at first, then half again as long each time, up to MAX_INTERVAL_MS (or `intervalMs` if longer). */
export function backoff(intervalMs: number) {
  let next = intervalMs;
  return () => {
    const pause = next;
    next = Math.max(intervalMs, Math.min(MAX_INTERVAL_MS, next * 1.5));
    return new Promise((resolve) => setTimeout(resolve, pause));
  };
}

/**
 * Calls `probe` until `done` accepts its value or `timeoutMs` has passed, and answers the last value: the caller's `expect`
 * then says what was wanted, with what there was. Polls quickly at first (`intervalMs`), then back off (see `backoff`).
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = EVENTUALLY_TIMEOUT_MS, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const started = Date.now();
  const pause = backoff(intervalMs);
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() - started > timeoutMs) return value;
    await pause();
  }
}
