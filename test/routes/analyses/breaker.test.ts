// The model's circuit breaker through the Worker (its own file: the breaker is per isolate, and it stays open here).
import { describe, expect, it } from "vitest";
import { person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { analyse, dataOf, readSse, scenario, sessionOn, stubRequests } from "../../support/analysis.ts";

describe("a model that keeps failing", () => {
  it("is retried, then the breaker opens after 3 failed analyses and the API answers 503 with Retry-After without calling it", async () => {
    const ada = await person("ada");
    const name = `sales-${crypto.randomUUID()}`;
    await scenario(name, [{ status: 500, message: "The server had an error" }]);
    const { sessionId } = await sessionOn(ada, name);
    for (let i = 0; i < 3; i++) {
      const { events } = await readSse(await analyse(ada, sessionId));
      expect(events.at(-1)!.event).toBe("problem");
      expect(dataOf<{ code: string }>(events.at(-1)!).code).toBe("MODEL_ERROR");
    }
    // OPENAI_MAX_RETRIES=1 in the tests: two calls per analysis.
    expect(await stubRequests(name)).toHaveLength(6);
    const refused = await analyse(ada, sessionId);
    const problem = await expectProblem(refused, 503, "MODEL_UNAVAILABLE");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(problem.detail).toMatch(/paused/);
    expect(await stubRequests(name)).toHaveLength(6);
    // The statistical engine does not need the model, so it still answers.
    const { events } = await readSse(await analyse(ada, sessionId, { engine: "statistical" }));
    expect(events.at(-1)!.event).toBe("done");
  });
});
