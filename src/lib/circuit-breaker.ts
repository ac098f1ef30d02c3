// A consecutive-failure circuit breaker: closed → open after N failures → half-open after a cool-down → closed on success.
// (cockatiel aborts an AbortController at module load, which workerd refuses in global scope; this is the part we need.)

export class CircuitOpenError extends Error {
  constructor(readonly retryAfterMs: number) {
    super("circuit open");
  }
}

export interface BreakerOptions {
  threshold: number;
  cooldownMs: number;
  /** Which failures count against the circuit (others pass through without effect). */
  counts: (error: unknown) => boolean;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | null = null;
  /** One trial call at a time while half-open. */
  private trial = false;

  constructor(private readonly options: BreakerOptions) {}

  get state(): "closed" | "open" | "half-open" {
    if (this.openedAt === null) return "closed";
    return Date.now() - this.openedAt >= this.options.cooldownMs ? "half-open" : "open";
  }

  /** Milliseconds until a call may be tried again (0 when it may now). */
  retryAfterMs(): number {
    return this.openedAt === null ? 0 : Math.max(0, this.openedAt + this.options.cooldownMs - Date.now());
  }

  async execute<T>(call: () => Promise<T>): Promise<T> {
    const state = this.state;
    if (state === "open" || (state === "half-open" && this.trial)) throw new CircuitOpenError(Math.max(1_000, this.retryAfterMs()));
    this.trial = state === "half-open";
    try {
      const result = await call();
      this.failures = 0;
      this.openedAt = null;
      return result;
    } catch (error) {
      if (this.options.counts(error)) {
        this.failures++;
        // A failed trial re-opens at once; otherwise the threshold decides.
        if (this.trial || this.failures >= this.options.threshold) this.openedAt = Date.now();
      }
      throw error;
    } finally {
      this.trial = false;
    }
  }
}
