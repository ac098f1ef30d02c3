// The circuit breaker on its own: opening after consecutive failures, the cool-down, the half-open trial.
import { describe, expect, it } from "vitest";
import { CircuitBreaker, CircuitOpenError } from "../../src/lib/circuit-breaker.ts";

const fail = () => Promise.reject(new Error("upstream down"));
const succeed = () => Promise.resolve("ok");
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("CircuitBreaker", () => {
  it("opens after the threshold of consecutive counted failures and refuses without calling", async () => {
    const breaker = new CircuitBreaker({ threshold: 2, cooldownMs: 10_000, counts: () => true });
    await expect(breaker.execute(fail)).rejects.toThrow("upstream down");
    expect(breaker.state).toBe("closed");
    await expect(breaker.execute(fail)).rejects.toThrow("upstream down");
    expect(breaker.state).toBe("open");
    let called = false;
    const refused = await breaker.execute(async () => (called = true)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect((refused as CircuitOpenError).retryAfterMs).toBeGreaterThan(9_000);
    expect(called).toBe(false);
  });

  it("ignores failures that do not count, and a success resets the count", async () => {
    const breaker = new CircuitBreaker({ threshold: 2, cooldownMs: 10_000, counts: (error) => (error as Error).message !== "bad request" });
    await expect(breaker.execute(() => Promise.reject(new Error("bad request")))).rejects.toThrow();
    await expect(breaker.execute(() => Promise.reject(new Error("bad request")))).rejects.toThrow();
    expect(breaker.state).toBe("closed");
    await expect(breaker.execute(fail)).rejects.toThrow();
    await expect(breaker.execute(succeed)).resolves.toBe("ok");
    await expect(breaker.execute(fail)).rejects.toThrow();
    expect(breaker.state).toBe("closed");
  });

  it("half-opens after the cool-down: a failed trial re-opens it, a good one closes it", async () => {
    const breaker = new CircuitBreaker({ threshold: 1, cooldownMs: 50, counts: () => true });
    await expect(breaker.execute(fail)).rejects.toThrow();
    expect(breaker.state).toBe("open");
    await wait(60);
    expect(breaker.state).toBe("half-open");
    await expect(breaker.execute(fail)).rejects.toThrow("upstream down");
    expect(breaker.state).toBe("open");
    await wait(60);
    await expect(breaker.execute(succeed)).resolves.toBe("ok");
    expect(breaker.state).toBe("closed");
  });

  it("lets one trial through while half-open", async () => {
    const breaker = new CircuitBreaker({ threshold: 1, cooldownMs: 20, counts: () => true });
    await expect(breaker.execute(fail)).rejects.toThrow();
    await wait(30);
    const trial = breaker.execute(() => wait(30).then(() => "trial"));
    await expect(breaker.execute(succeed)).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(trial).resolves.toBe("trial");
  });
});
