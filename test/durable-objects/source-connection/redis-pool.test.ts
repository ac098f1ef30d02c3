// The SourceConnection's Redis pool on the machine's real Redis: a call that finds every connection busy waits only so
// long, then is refused as our own congestion (503 DATA_SOURCE_BUSY), and leaves the queue so later calls are not stuck.
import { describe, expect, it } from "vitest";
import { RedisPool } from "../../../src/durable-objects/source-connection/redis-pool.ts";
import { ApiError } from "../../../src/lib/problem.ts";
import { parseRedisUrl } from "../../../src/services/data-sources/redis-address.ts";
import { redisTcpUrl } from "../../support/data-sources.ts";

const address = () => parseRedisUrl(redisTcpUrl() ?? "redis://127.0.0.1:6379/0", "url");

describe("RedisPool", () => {
  it("refuses a call that waited its whole wait for a connection, and serves the next one once a connection is back", async () => {
    const pool = new RedisPool("k", address(), 1, { timeoutMs: 10_000, name: "datacrafted:pool-test" });
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const holding = new Promise<void>((resolve) => (started = resolve));
      // The pool's one connection, held until the test lets it go.
      const holder = pool.use(async (connection) => {
        started();
        await held;
        return connection.send([["PING"]]);
      }, 1_000);
      await holding;

      const refused = await pool.use((connection) => connection.send([["PING"]]), 50).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ApiError);
      expect((refused as ApiError).status).toBe(503);
      expect((refused as ApiError).code).toBe("DATA_SOURCE_BUSY");
      expect(pool.waiting).toBe(0);

      // A waiter with time left gets the connection as soon as the holder is done.
      const waiting = pool.use((connection) => connection.send([["ECHO", "after"]]), 10_000);
      expect(pool.waiting).toBe(1);
      release();
      expect((await holder)[0]?.result).toBe("PONG");
      expect((await waiting)[0]?.result).toBe("after");
      expect(pool.waiting).toBe(0);
    } finally {
      pool.close();
    }
  });
});
