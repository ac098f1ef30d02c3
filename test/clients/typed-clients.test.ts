// Both typed clients against the test Worker: Hono's hc<AppType> and an openapi-fetch consumer whose types were
// generated from /openapi.json. (Type-checked with the generated types by test/contract/typed-clients.test.ts.)
import { describe, expect, it } from "vitest";
import { salesCsv } from "../support/analysis.ts";
import { checkedFetch, person } from "../support/harness.ts";
import { honoTour } from "./hono-client.ts";
import { openapiFetchTour } from "./openapi-fetch-client.ts";

const fetchThroughWorker = (input: RequestInfo | URL, init?: RequestInit) => checkedFetch(new Request(input, init));

describe("hc<AppType>", () => {
  it("signs in, creates, reads and lists a project, typed by status", async () => {
    const ada = await person("hc");
    const result = await honoTour("https://api.test", fetchThroughWorker as typeof fetch, { email: ada.email, password: ada.password });
    expect(result.name).toBe("Typed with hc");
    expect(Number.isNaN(Date.parse(result.createdAt))).toBe(false);
    expect(result.listed).toHaveLength(1);
    expect(result.nextCursor).toBeNull();
    expect(result.health).toBe(200);
  });
});

describe("an openapi-fetch client generated from the document", () => {
  it("signs in, creates a project, uploads, opens a session, runs an analysis and reads its charts", async () => {
    const ada = await person("openapi-fetch");
    const csv = salesCsv(40);
    const result = await openapiFetchTour(
      "https://api.test",
      (request) => checkedFetch(request),
      { email: ada.email, password: ada.password },
      csv,
    );
    expect(result.datasetRows).toBe(csv.trim().split("\n").length - 1);
    expect(result).toMatchObject({ status: "succeeded", engine: "statistical", error: null });
    expect(result.charts.length).toBeGreaterThan(0);
    for (const chart of result.charts) expect(chart.title.length).toBeGreaterThan(0);
  });
});
