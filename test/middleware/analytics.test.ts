// The Analytics Engine data point of each request, through the whole Worker with a recording binding in place of the
// dataset (Cloudflare's infrastructure, outside the machine): route pattern, status, duration, dependency latencies.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { BASE, checkedFetch, person, randomIp, team } from "../support/harness.ts";
import { checkResponse } from "../support/openapi-responses.ts";

/** Sends `request` to the Worker with `ANALYTICS` replaced (undefined: absent), checked against the OpenAPI document. */
async function fetchWith(analytics: AnalyticsEngineDataset | undefined, request: Request) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, { ...env, ANALYTICS: analytics } as Cloudflare.Env, ctx);
  await waitOnExecutionContext(ctx);
  await checkResponse(request.method, request.url, response.clone(), () => checkedFetch(`${BASE}/openapi.json`));
  return response;
}

function recorder() {
  const points: AnalyticsEngineDataPoint[] = [];
  return { points, dataset: { writeDataPoint: (point?: AnalyticsEngineDataPoint) => void points.push(point!) } };
}

const request = (path: string, token?: string) =>
  new Request(`${BASE}${path}`, { headers: { "CF-Connecting-IP": randomIp(), ...(token ? { Authorization: `Bearer ${token}` } : {}) } });

describe("analytics middleware", () => {
  it("writes one point a request: the route pattern, status, duration and the Postgres calls it waited on", async () => {
    const owner = await person("an-o");
    const slug = await team(owner);
    const { points, dataset } = recorder();
    const response = await fetchWith(dataset, request(`/api/v1/orgs/${slug}`, owner.token));
    expect(response.status).toBe(200);
    expect(points).toHaveLength(1);
    const [point] = points;
    // The pattern, never the slug.
    expect(point!.indexes).toEqual(["/api/v1/orgs/:slug"]);
    expect(point!.blobs!.slice(0, 4)).toEqual(["/api/v1/orgs/:slug", "GET", "2xx", ""]);
    expect(JSON.stringify(point)).not.toContain(slug);
    const [status, durationMs, postgresMs, postgresCalls, dataSourceMs, dataSourceCalls] = point!.doubles as number[];
    expect(status).toBe(200);
    expect(durationMs).toBeGreaterThanOrEqual(0);
    // requireOrg's query (with the session check in its batch): one round trip.
    expect(postgresCalls).toBe(1);
    expect(postgresMs).toBeGreaterThanOrEqual(0);
    expect(durationMs).toBeGreaterThanOrEqual(0);
    expect([dataSourceMs, dataSourceCalls]).toEqual([0, 0]);
  });

  it("records a refusal with its problem code, and an unmatched path as `unmatched`", async () => {
    const { points, dataset } = recorder();
    expect((await fetchWith(dataset, request("/api/v1/orgs/nobody-here"))).status).toBe(401);
    expect((await fetchWith(dataset, request("/api/v1/no-such-thing"))).status).toBe(404);
    expect(points.map((point) => [point.blobs![0], point.blobs![2], point.blobs![3], point.doubles![0]])).toEqual([
      ["/api/v1/orgs/:slug", "4xx", "UNAUTHORIZED", 401],
      ["unmatched", "4xx", "NOT_FOUND", 404],
    ]);
  });

  it("writes nothing, and answers as usual, where the binding is absent", async () => {
    const response = await fetchWith(undefined, request("/health"));
    expect(response.status).toBe(200);
  });
});
