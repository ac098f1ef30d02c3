// Operators' metrics: one Workers Analytics Engine data point per request (route pattern, status, duration, dependency
// latencies: Postgres and data sources), written to the optional ANALYTICS binding; where it is absent nothing is written.
import { createMiddleware } from "hono/factory";
import { type DependencyTimings, newTimings, withTimings } from "../lib/dependency-timing.ts";
import { routePattern } from "../lib/route.ts";
import type { AppEnv } from "../lib/types.ts";

export interface RequestPoint {
  route: string | null;
  method: string;
  status: number;
  problemCode: string | null;
  orgId: string | null;
  colo: string | null;
  durationMs: number;
  dependencies: DependencyTimings;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * The data point's layout, which the SQL API reads by position (README "Request metrics"):
 * blob1 route pattern, blob2 method, blob3 status class (2xx…), blob4 problem code, blob5 organization id, blob6 colo;
 * double1 status, double2 duration ms, double3/4 Postgres ms and calls, double5/6 data-source ms and calls; index1 the route
 * pattern (the sampling key).
 */
export function writeRequestPoint(dataset: AnalyticsEngineDataset | undefined, point: RequestPoint): void {
  if (typeof dataset?.writeDataPoint !== "function") return;
  const route = point.route ?? "unmatched";
  const { postgres, dataSource } = point.dependencies;
  dataset.writeDataPoint({
    indexes: [route.slice(0, 96)],
    blobs: [route, point.method, `${Math.floor(point.status / 100)}xx`, point.problemCode ?? "", point.orgId ?? "", point.colo ?? ""],
    doubles: [point.status, round(point.durationMs), round(postgres.ms), postgres.calls, round(dataSource.ms), dataSource.calls],
  });
}

export const analytics = () =>
  createMiddleware<AppEnv>(async function analytics(c, next) {
    const started = performance.now();
    const timings = newTimings();
    await withTimings(timings, next);
    try {
      writeRequestPoint(c.env?.ANALYTICS, {
        route: routePattern(c),
        method: c.req.method,
        status: c.res.status,
        problemCode: c.get("problemCode") ?? null,
        orgId: c.get("orgId") ?? null,
        colo: (c.req.raw.cf?.colo as string | undefined) ?? null,
        // Until the response's headers: a stream's body may go on after.
        durationMs: performance.now() - started,
        dependencies: timings,
      });
    } catch (error) {
      // A metric never fails a request.
      c.get("logger")?.warn("analytics data point not written", { error: error instanceof Error ? error.message : String(error) });
    }
  });
