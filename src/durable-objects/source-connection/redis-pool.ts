// A small pool of warm RESP connections to one Redis source, kept by its SourceConnection object. Each call has a
// connection to itself for its round trip (a MULTI/EXEC never interleaves with another call's commands); the database
// is the one the URL names, SELECTed in each connection's handshake.
import { ApiError } from "../../lib/problem.ts";
import type { RedisAddress } from "../../services/data-sources/redis-address.ts";
import { connectRedis, type RedisConnection } from "../../services/data-sources/redis-tcp.ts";

export class RedisPool {
  private idle: RedisConnection[] = [];
  private waiters: (() => void)[] = [];
  private open = 0;
  private closed = false;
  inUse = 0;

  constructor(
    readonly key: string,
    private readonly address: RedisAddress,
    readonly size: number,
    private readonly options: { timeoutMs: number; name: string },
  ) {}

  /**
   * Runs `work` on a warm connection (or a new one while fewer than `size` are open; else waits up to `waitMs` for one to
   * come back, then 503 DATA_SOURCE_BUSY: our own congestion, never counted as the source's outage).
   */
  async use<T>(work: (connection: RedisConnection) => Promise<T>, waitMs: number): Promise<T> {
    const connection = await this.acquire(Date.now() + waitMs);
    this.inUse++;
    try {
      return await work(connection);
    } finally {
      this.inUse--;
      this.release(connection);
    }
  }

  /** Calls waiting for a connection to come back. */
  get waiting() {
    return this.waiters.length;
  }

  /** Closes the idle connections now, and the busy ones as their calls end. */
  close() {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.close();
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async acquire(deadline: number): Promise<RedisConnection> {
    for (;;) {
      const warm = this.idle.pop();
      if (warm?.ready) return warm;
      if (warm) {
        // Closed by the server (or its idle timeout) while it waited here.
        warm.close();
        this.open--;
        continue;
      }
      if (this.open < this.size || this.closed) {
        this.open++;
        try {
          return await connectRedis(this.address, this.options);
        } catch (error) {
          this.open--;
          this.wake();
          throw error;
        }
      }
      await this.waitForRelease(deadline);
    }
  }

  /** Resolves when a connection comes back (or the pool closes); rejects at `deadline`, leaving the queue. */
  private waitForRelease(deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(
        () => {
          this.waiters = this.waiters.filter((waiter) => waiter !== wake);
          reject(
            new ApiError(503, {
              code: "DATA_SOURCE_BUSY",
              detail: `All ${this.size} connections to this Redis source stayed busy while the call waited; try again shortly.`,
              headers: { "Retry-After": "1" },
            }),
          );
        },
        Math.max(0, deadline - Date.now()),
      );
      this.waiters.push(wake);
    });
  }

  /** A connection that is still ready goes back to the pool; one that failed or timed out (destroyed) is dropped. */
  private release(connection: RedisConnection) {
    if (connection.ready && !this.closed) this.idle.push(connection);
    else {
      connection.close();
      this.open--;
    }
    this.wake();
  }

  private wake() {
    this.waiters.shift()?.();
  }
}
