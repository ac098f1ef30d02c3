// Grounded analyses through the Worker: both engines' charts carry their spec run over every row of the real store (checked here
// against plain code over the uploaded file), insights quote whole-file figures, the wait for a store that is not ready, and rerun.
import { env } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { datasets } from "../../../src/db/schema.ts";
import { analyse, dataOf, readSse, scenario, type SseEvent, stubRequests } from "../../support/analysis.ts";
import { inStore, settled } from "../../support/dataset-loads.ts";
import { addMember, BASE, call, json, person, randomIp, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { SELF } from "cloudflare:test";

type Cell = string | number | boolean | null;
interface Channel {
  field: string;
  type: string;
  aggregate?: string;
}
interface Chart {
  type: string;
  title: string;
  dataKeys: string[];
  encoding: { x?: Channel; y?: Channel; color?: Channel };
  spec: { encoding: Record<string, { field?: string; timeUnit?: string; bin?: unknown; aggregate?: string }> };
  data: Record<string, Cell>[];
  truncated: boolean;
  query: { sql: string; params: Cell[] };
  dataset: { id: string; version: number; sha256: string };
}
interface Analysis {
  id: string;
  status: string;
  summary: string;
  insights: { kind: string; title: string; detail: string; columns: string[] }[];
  charts: Chart[];
}
interface Rerun {
  analysisId: string;
  identical: boolean;
  dataset: { id: string; version: number; sha256: string };
  charts: { index: number; status: string; identical: boolean; rowCount: number | null; rows?: Record<string, Cell>[] }[];
}

const unique = (label: string) => `${label}-${crypto.randomUUID()}`;

/** 6,000 days in date order (2000-01-01 on): more rows than the old 5,000-row sample, so a sampled trend would stop in 2013. */
interface Day {
  date: string;
  region: string;
  units: number;
  revenue: number;
  /** Mostly 0–49, with a spike every 97th day: outliers by any rule. */
  latency: number;
}
const DAYS = 6_000;
const days: Day[] = Array.from({ length: DAYS }, (_, i) => {
  const units = 50 + Math.floor(i / 30) + ((i * 7) % 13);
  return {
    date: new Date(Date.UTC(2000, 0, 1 + i)).toISOString().slice(0, 10),
    region: ["north", "south", "east", "west"][((i * i) % 7) % 4]!,
    units,
    revenue: units * 12.5 + ((i * 31) % 17) - 8,
    latency: i % 97 === 0 ? 500 + (i % 7) * 100 : (i * 13) % 50,
  };
});
const csv = `date,region,units,revenue,latency,note\n${days.map((d, i) => `${d.date},${d.region},${d.units},${d.revenue},${d.latency},row ${i}`).join("\n")}\n`;

// Reference calculations in plain code over the rows above, independent of the engine and the spec compiler.
const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
function groupMeans(key: (d: Day) => string, value: (d: Day) => number): Map<string, number> {
  const groups = new Map<string, number[]>();
  for (const d of days) groups.set(key(d), [...(groups.get(key(d)) ?? []), value(d)]);
  return new Map([...groups].map(([k, values]) => [k, mean(values)]));
}
function pearson(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
/** Quantile by linear interpolation between order statistics (numpy's default, DuckDB's quantile_cont). */
function quantile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  return sorted[lo]! + (h - lo) * ((sorted[lo + 1] ?? sorted[lo]!) - sorted[lo]!);
}
const close = (actual: unknown, expected: number) =>
  expect(Math.abs(Number(actual) - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));

async function uploadTo(who: Person, name: string, body: string, org?: string) {
  const project = await json<{ id: string }>(
    await call("/api/v1/projects", { method: "POST", token: who.token, body: { name: "Grounded", ...(org ? { org } : {}) } }),
    201,
  );
  const response = await SELF.fetch(`${BASE}/api/v1/projects/${project.id}/datasets?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": randomIp() },
    body,
  });
  const dataset = await json<{ id: string; sha256: string; version: number }>(response, 201);
  const session = await json<{ id: string }>(
    await call("/api/v1/sessions", { method: "POST", token: who.token, body: { datasetId: dataset.id } }),
    201,
  );
  return { dataset, sessionId: session.id };
}

const orgOf = async (datasetId: string) =>
  (await createDb(env).select({ orgId: datasets.orgId }).from(datasets).where(eq(datasets.id, datasetId)))[0]!.orgId;
const setStoreStatus = (dataset: { id: string; sha256: string }, orgId: string, status: string) =>
  inStore({ ...dataset, orgId }, (store) => store.exec(`UPDATE _store_meta SET value = ? WHERE key = 'status'`, status));

const finished = async (who: Person, events: SseEvent[]) => {
  const done = events.at(-1)!;
  expect(done.event).toBe("done");
  return json<Analysis>(await call(`/api/v1/analyses/${dataOf<{ analysisId: string }>(done).analysisId}`, { token: who.token }), 200);
};
const rerun = (who: Person, id: string) => call(`/api/v1/analyses/${id}/rerun`, { method: "POST", token: who.token });

describe("the statistical engine over the store", async () => {
  const ada = await person("grounded");
  const { dataset, sessionId } = await uploadTo(ada, unique("daily"), csv);
  expect((await settled(ada, dataset.id)).query.status).toBe("ready");
  const analysis = await finished(ada, (await readSse(await analyse(ada, sessionId, { engine: "statistical" }))).events);
  const about = { id: dataset.id, version: 1, sha256: dataset.sha256 };

  it("gives every chart its spec's rows, the statement and the dataset version", () => {
    expect(analysis.charts.length).toBeGreaterThanOrEqual(4);
    for (const chart of analysis.charts) {
      expect(chart.dataset).toEqual(about);
      expect(chart.query.sql).toMatch(/^WITH /);
      expect(chart.data.length).toBeGreaterThan(0);
    }
  });

  it("charts the trend per month over the whole time range, each mean equal to the file's", () => {
    const line = analysis.charts.find((chart) => chart.type === "line")!;
    expect(line.spec.encoding.x).toMatchObject({ field: "date", timeUnit: "month" });
    const measure = line.spec.encoding.y!.field as "units" | "revenue";
    const expected = groupMeans(
      (d) => `${d.date.slice(0, 7)}-01T00:00:00.000Z`,
      (d) => d[measure],
    );
    const [x, y] = [line.encoding.x!.field, line.encoding.y!.field];
    expect(line.data.map((point) => point[x])).toEqual([...expected.keys()].sort());
    // The first and the last month of the file: not the first 5,000 rows.
    expect(line.data[0]![x]).toBe("2000-01-01T00:00:00.000Z");
    expect(line.data.at(-1)![x]).toBe(`${days.at(-1)!.date.slice(0, 7)}-01T00:00:00.000Z`);
    for (const point of line.data) close(point[y], expected.get(String(point[x]))!);
  });

  it("counts the regions over every row, most frequent first", () => {
    const bar = analysis.charts.find((chart) => chart.type === "bar" && chart.dataKeys[0] === "region")!;
    const counts = new Map<string, number>();
    for (const d of days) counts.set(d.region, (counts.get(d.region) ?? 0) + 1);
    const expected = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    expect(bar.data.map((point) => [point[bar.encoding.x!.field], point[bar.encoding.y!.field]])).toEqual(expected);
  });

  it("bins histograms and the correlation heatmap over every value", () => {
    const histograms = analysis.charts.filter((chart) => chart.type === "histogram");
    expect(histograms.length).toBeGreaterThan(0);
    for (const histogram of histograms) {
      const total = histogram.data.reduce((sum, bin) => sum + Number(bin[histogram.encoding.y!.field]), 0);
      expect(total).toBe(DAYS);
    }
    const heatmap = analysis.charts.find((chart) => chart.type === "heatmap")!;
    expect(heatmap.data.reduce((sum, cell) => sum + Number(cell[heatmap.encoding.color!.field]), 0)).toBe(DAYS);
  });

  it("quotes whole-file figures: Pearson r over every row, the trend's full span", () => {
    const r = pearson(
      days.map((d) => d.units),
      days.map((d) => d.revenue),
    );
    const correlation = analysis.insights.find(
      (insight) => insight.kind === "correlation" && insight.columns.includes("units") && insight.columns.includes("revenue"),
    );
    expect(correlation?.detail).toContain(`r = ${r.toFixed(2)} over ${DAYS} rows`);
    const trend = analysis.insights.find((insight) => insight.kind === "trend" && insight.columns.includes("units"));
    expect(trend?.detail).toContain(`(2000-01-01 to ${days.at(-1)!.date})`);
    expect(analysis.summary).not.toContain("sample");
  });

  it("finds outliers by Tukey's fences on the exact quartiles of every value", () => {
    const values = days.map((d) => d.latency);
    const [q1, median, q3] = [quantile(values, 0.25), quantile(values, 0.5), quantile(values, 0.75)];
    const outside = values.filter((v) => v < q1 - 1.5 * (q3 - q1) || v > q3 + 1.5 * (q3 - q1)).length;
    expect(outside).toBeGreaterThan(50);
    const outliers = analysis.insights.find((insight) => insight.kind === "outlier" && insight.columns.includes("latency"));
    expect(outliers?.title).toBe(`${outside} outliers in latency`);
    expect(outliers?.detail).toContain(`${outside} of ${DAYS} values`);
    const shape = analysis.insights.find((insight) => insight.kind === "distribution" && insight.columns.includes("latency"));
    expect(shape?.detail).toContain(`vs median ${Number(median.toPrecision(3))}`);
  });

  it("reruns every chart's query against the same version: identical", async () => {
    const answer = await json<Rerun>(await rerun(ada, analysis.id), 200);
    expect(answer).toMatchObject({ analysisId: analysis.id, identical: true, dataset: about });
    expect(answer.charts.map((chart) => [chart.status, chart.rowCount])).toEqual(
      analysis.charts.map((chart) => ["identical", chart.data.length]),
    );
  });

  it("says which chart differs, with the new rows, when a saved result no longer matches its query", async () => {
    const db = createDb(env);
    await db.execute(
      sql`UPDATE charts SET config = jsonb_set(config, '{data,0}', '{"tampered": 1}'::jsonb) WHERE analysis_id = ${analysis.id} AND position = 0`,
    );
    const answer = await json<Rerun>(await rerun(ada, analysis.id), 200);
    expect(answer.identical).toBe(false);
    expect(answer.charts[0]).toMatchObject({ status: "different", identical: false, rows: analysis.charts[0]!.data });
    expect(answer.charts.slice(1).every((chart) => chart.status === "identical")).toBe(true);
  });
});

describe("the model's charts over the store", () => {
  it("runs each spec over every row, and drops the specs that do not compile", async () => {
    const ada = await person("grounded-model");
    const name = unique("daily-model");
    const answer = {
      summary: "Revenue by region and rows per year.",
      insights: [{ kind: "category", title: "Regions", detail: "Four regions.", columns: ["region"], importance: "medium" }],
      charts: [
        {
          type: "bar",
          title: "Average revenue by region",
          spec: { encoding: { x: { field: "region", type: "nominal" }, y: { field: "revenue", aggregate: "mean" } } },
        },
        {
          type: "bar",
          title: "Mean of a text column",
          spec: { encoding: { x: { field: "region" }, y: { field: "note", aggregate: "mean" } } },
        },
        { type: "line", title: "Rows per year", spec: { encoding: { x: { field: "date", timeUnit: "year" }, y: { aggregate: "count" } } } },
        { type: "bar", title: "A column that is not there", spec: { encoding: { x: { field: "ghost" } } } },
      ],
    };
    await scenario(name, [{ content: JSON.stringify(answer), chunkSize: 11 }]);
    const { dataset, sessionId } = await uploadTo(ada, name, csv);
    expect((await settled(ada, dataset.id)).query.status).toBe("ready");
    const { events } = await readSse(await analyse(ada, sessionId));
    const analysis = await finished(ada, events);
    expect(analysis.charts.map((chart) => chart.title)).toEqual(["Average revenue by region", "Rows per year"]);
    expect(events.filter((event) => event.event === "chart").map((event) => dataOf<Chart>(event).title)).toEqual([
      "Average revenue by region",
      "Rows per year",
    ]);

    // The model was asked for this answer's JSON schema: charts as specs, no data.
    const [request] = (await stubRequests(name)) as unknown as {
      response_format: { type: string; json_schema: { schema: { properties: { charts: unknown } } } };
    }[];
    expect(request!.response_format.type).toBe("json_schema");
    expect(JSON.stringify(request!.response_format.json_schema.schema.properties.charts)).toContain('"spec"');
    expect(JSON.stringify(request!.response_format.json_schema.schema.properties.charts)).not.toContain('"data"');

    const [byRegion, perYear] = analysis.charts as [Chart, Chart];
    expect(byRegion.encoding).toEqual({
      x: { field: "region", type: "nominal" },
      y: { field: "revenue", type: "quantitative", aggregate: "mean" },
    });
    const means = groupMeans(
      (d) => d.region,
      (d) => d.revenue,
    );
    expect(byRegion.data.map((point) => point.region)).toEqual([...means.keys()].sort());
    for (const point of byRegion.data) close(point.revenue, means.get(String(point.region))!);

    const years = new Map<string, number>();
    for (const d of days)
      years.set(`${d.date.slice(0, 4)}-01-01T00:00:00.000Z`, (years.get(`${d.date.slice(0, 4)}-01-01T00:00:00.000Z`) ?? 0) + 1);
    expect(perYear.data.map((point) => [point[perYear.encoding.x!.field], point[perYear.encoding.y!.field]])).toEqual([...years].sort());
    expect(perYear.dataset).toEqual({ id: dataset.id, version: 1, sha256: dataset.sha256 });
  });
});

describe("an analysis whose store is not ready", () => {
  it("says it waits, then runs over the store once it is ready", async () => {
    const ada = await person("grounded-wait");
    const { dataset, sessionId } = await uploadTo(ada, unique("daily-wait"), csv.slice(0, 20_000).replace(/\n[^\n]*$/, "\n"));
    expect((await settled(ada, dataset.id)).query.status).toBe("ready");
    const orgId = await orgOf(dataset.id);
    await setStoreStatus(dataset, orgId, "loading");
    let flipped = false;
    const { events } = await readSse(await analyse(ada, sessionId, { engine: "statistical" }), async (seen) => {
      if (!flipped && seen.some((event) => event.event === "status" && dataOf<{ status: string }>(event).status === "waiting_for_store")) {
        flipped = true;
        await setStoreStatus(dataset, orgId, "ready");
      }
      return false;
    });
    expect(flipped).toBe(true);
    expect(dataOf<{ status: string }>(events[0]!).status).toBe("waiting_for_store");
    const analysis = await finished(ada, events);
    expect(analysis.charts.length).toBeGreaterThan(0);
    expect(analysis.summary).not.toContain("upload profile alone");
  });

  it("runs on the profile after ANALYSIS_WAIT_FOR_STORE_MS, with no charts, and says so (streamed)", async () => {
    const ada = await person("grounded-profile");
    const { dataset, sessionId } = await uploadTo(ada, unique("daily-profile"), csv.slice(0, 20_000).replace(/\n[^\n]*$/, "\n"));
    expect((await settled(ada, dataset.id)).query.status).toBe("ready");
    await setStoreStatus(dataset, await orgOf(dataset.id), "loading");
    const { events } = await readSse(await analyse(ada, sessionId, { engine: "statistical" }));
    expect(events.filter((event) => event.event === "status").map((event) => dataOf<{ status: string }>(event).status)).toEqual([
      "waiting_for_store",
      "running",
    ]);
    const analysis = await finished(ada, events);
    expect(analysis.charts).toEqual([]);
    expect(analysis.summary).toContain("ran on the upload profile alone");
    expect(analysis.insights.length).toBeGreaterThan(0);
  });

  it("runs on the profile for a queued analysis too", async () => {
    const ada = await person("grounded-queued");
    const { dataset, sessionId } = await uploadTo(ada, unique("daily-queued"), csv.slice(0, 20_000).replace(/\n[^\n]*$/, "\n"));
    expect((await settled(ada, dataset.id)).query.status).toBe("ready");
    await setStoreStatus(dataset, await orgOf(dataset.id), "failed");
    const queued = await json<{ id: string }>(
      await call(`/api/v1/sessions/${sessionId}/analyses`, {
        method: "POST",
        token: ada.token,
        body: { engine: "statistical" },
        headers: { Prefer: "respond-async" },
      }),
      202,
    );
    let analysis: Analysis | undefined;
    for (let i = 0; i < 150 && analysis?.status !== "succeeded" && analysis?.status !== "failed"; i++) {
      analysis = await json<Analysis>(await call(`/api/v1/analyses/${queued.id}`, { token: ada.token }), 200);
      if (analysis.status !== "succeeded") await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(analysis).toMatchObject({ status: "succeeded", charts: [] });
    expect(analysis!.summary).toContain("ran on the upload profile alone");
  });
});

describe("POST /analyses/{id}/rerun refuses", () => {
  it("a viewer (403), another tenant (404) and an unknown id (404)", async () => {
    const owner = await person("rerun-owner");
    const slug = await team(owner, "Rerun");
    const { dataset, sessionId } = await uploadTo(owner, unique("daily-rerun"), csv.slice(0, 20_000).replace(/\n[^\n]*$/, "\n"), slug);
    expect((await settled(owner, dataset.id)).query.status).toBe("ready");
    const analysis = await finished(owner, (await readSse(await analyse(owner, sessionId, { engine: "statistical" }))).events);
    const viewer = await person("rerun-viewer");
    await addMember(owner, slug, viewer, "viewer");
    // The viewer sees the analysis but may not rerun it.
    expect((await call(`/api/v1/analyses/${analysis.id}`, { token: viewer.token })).status).toBe(200);
    await expectProblem(await rerun(viewer, analysis.id), 403, "FORBIDDEN");
    const stranger = await person("rerun-stranger");
    await expectProblem(await rerun(stranger, analysis.id), 404, "NOT_FOUND");
    await expectProblem(await rerun(owner, crypto.randomUUID()), 404, "NOT_FOUND");
    expect((await json<Rerun>(await rerun(owner, analysis.id), 200)).identical).toBe(true);
  });
});
