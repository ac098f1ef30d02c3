// Waiting in tests for what happens after a response (queue jobs, cron recovery, audit rows, expiry): a bounded poll.
// The bound is generous because a loaded machine is slow; a passing test returns as soon as the value is there.

/** How long a poll may take before the test's own assertion reports what it saw (under the workers' testTimeout). */
export const EVENTUALLY_TIMEOUT_MS = 90_000;

/**
 * Calls `probe` every `intervalMs` until `done` accepts its value or `timeoutMs` has passed, and answers the last value:
 * the caller's `expect` then says what was wanted, with what there was.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = EVENTUALLY_TIMEOUT_MS, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() - started > timeoutMs) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
