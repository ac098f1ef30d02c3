// The statistical engine on real datasets from vega-datasets, profiled by the real parsers, checked against answers computed here the slow way.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import carsJson from "../../../node_modules/vega-datasets/data/cars.json?raw";
import co2Csv from "../../../node_modules/vega-datasets/data/co2-concentration.csv?raw";
import seattleCsv from "../../../node_modules/vega-datasets/data/seattle-weather.csv?raw";
import { type ChartPlan, type Insight, PlannedResult } from "../../../src/services/analysis/result.ts";
import { type EngineInput, statisticalAnalysis } from "../../../src/services/analysis/statistical-engine.ts";
import { type Format, rowsOf } from "../../../src/services/datasets/parsers.ts";
import { Profiler } from "../../../src/services/datasets/profile/profiler.ts";
import type { Cell } from "../../../src/services/datasets/profile/types.ts";

/** Parses and profiles `text` the way an upload does, keeping up to `sampleRows` rows as the engine's sample. */
async function load(name: string, text: string, format: Format, sampleRows = 5_000): Promise<EngineInput> {
  const stream = new ReadableStream<string>({
    start(controller) {
      // Chunks of 16 KB, as a streamed upload arrives.
      for (let i = 0; i < text.length; i += 16_384) controller.enqueue(text.slice(i, i + 16_384));
      controller.close();
    },
  });
  const { columns, rows } = await rowsOf(stream, { format }, { maxDepth: 32 });
  const profiler = new Profiler(columns);
  const kept: Cell[][] = [];
  for await (const batch of rows) {
    for (const row of batch) {
      profiler.add(row);
      if (kept.length < sampleRows) kept.push(row);
    }
  }
  return {
    name,
    profile: profiler.result(),
    rows: kept.map((row) => Object.fromEntries(columns.map((column, i) => [column, row[i] ?? null]))),
  };
}

/** Checks a result against the schema the engine's output must pass (its charts are specs, run over the store elsewhere). */
function expectValid(result: PlannedResult) {
  expect(PlannedResult.parse(result)).toEqual(result);
}

/** The dataset columns a chart's spec reads, channel by channel. */
const fieldsOf = (chart: ChartPlan | undefined) =>
  Object.values(chart?.spec.encoding ?? {}).flatMap((channel) => (channel?.field ? [channel.field] : []));

/** Runs the engine and checks the result (inside a test). */
function analyse(input: EngineInput) {
  const result = statisticalAnalysis(input);
  expectValid(result);
  return result;
}

// Exact reference calculations, written independently of the engine.
const numbers = (rows: Record<string, unknown>[], column: string) =>
  rows
    .map((row) => Number(row[column]))
    .filter((value, i) => rows[i]![column] !== null && rows[i]![column] !== "" && Number.isFinite(value));

function pearson(rows: Record<string, unknown>[], a: string, b: string): number {
  const pairs = rows
    .filter((row) => typeof row[a] === "number" || (typeof row[a] === "string" && row[a] !== ""))
    .filter((row) => typeof row[b] === "number" || (typeof row[b] === "string" && row[b] !== ""));
  const xs = pairs.map((row) => Number(row[a]));
  const ys = pairs.map((row) => Number(row[b]));
  const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
  const my = ys.reduce((s, y) => s + y, 0) / ys.length;
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

/** Tukey's rule with quartiles by linear interpolation (numpy's default): how many values fall outside the fences. */
function tukeyOutliers(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number) => {
    const h = (sorted.length - 1) * p;
    return sorted[Math.floor(h)]! + (h - Math.floor(h)) * (sorted[Math.ceil(h)]! - sorted[Math.floor(h)]!);
  };
  const iqr = q(0.75) - q(0.25);
  return sorted.filter((value) => value < q(0.25) - 1.5 * iqr || value > q(0.75) + 1.5 * iqr).length;
}

/** Least-squares slope of `column` against the date in days. */
function slopeOverTime(rows: Record<string, unknown>[], dateColumn: string, column: string): number {
  const points = rows
    .filter((row) => row[column] !== null && row[dateColumn] !== null)
    .map((row) => [Date.parse(String(row[dateColumn])) / 86_400_000, Number(row[column])] as const);
  const mx = points.reduce((s, [x]) => s + x, 0) / points.length;
  const my = points.reduce((s, [, y]) => s + y, 0) / points.length;
  return points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
}

const about = (insights: Insight[], kind: Insight["kind"], ...columns: string[]) =>
  insights.filter((insight) => insight.kind === kind && columns.every((column) => insight.columns.includes(column)));

describe("statisticalAnalysis on seattle-weather.csv (unit)", async () => {
  const input = await load("Seattle weather", seattleCsv, "csv");
  const result = statisticalAnalysis(input);

  it("passes the AnalysisResult schema", () => expectValid(result));

  it("profiles the file as expected before the engine sees it", () => {
    expect(input.profile.rowCount).toBe(1_461);
    expect(Object.fromEntries(input.profile.columns.map((column) => [column.name, column.type]))).toEqual({
      date: "datetime",
      precipitation: "number",
      temp_max: "number",
      temp_min: "number",
      wind: "number",
      weather: "string",
    });
  });

  it("summarizes rows, columns and types", () => {
    expect(result.summary).toContain(
      "Seattle weather has 1,461 rows and 6 columns (4 numeric, 1 date/time, 1 text). date runs from 2012-01-01 to 2015-12-31.",
    );
    expect(result.summary).toContain("Most notable:");
  });

  it("finds temp_max and temp_min strongly correlated, with the exact r", () => {
    const r = pearson(input.rows, "temp_max", "temp_min");
    expect(r).toBeGreaterThan(0.8);
    const [found] = about(result.insights, "correlation", "temp_max", "temp_min");
    expect(found?.title).toMatch(/positively correlated/);
    expect(found?.detail).toContain(`r = ${r.toFixed(2)} over 1461 rows`);
    expect(found?.importance).toBe("high");
    // Every row with both values, binned on both axes (a scatter of some rows would be a sample).
    const heatmap = result.charts.find((chart) => chart.type === "heatmap");
    expect(heatmap?.spec.encoding).toEqual({
      x: { field: "temp_max", type: "quantitative", bin: { maxbins: 20 } },
      y: { field: "temp_min", type: "quantitative", bin: { maxbins: 20 } },
      color: { aggregate: "count", type: "quantitative" },
    });
  });

  it("reports every column's IQR outliers with the exact count", () => {
    for (const column of ["precipitation", "temp_max", "temp_min", "wind"]) {
      const expected = tukeyOutliers(numbers(input.rows, column));
      const found = about(result.insights, "outlier", column);
      if (expected === 0) expect(found).toEqual([]);
      else {
        expect(found).toHaveLength(1);
        expect(found[0]!.title).toBe(`${expected} outlier${expected === 1 ? "" : "s"} in ${column}`);
        expect(found[0]!.detail).toContain(`${expected} of 1461 values`);
      }
    }
    // Rainfall has a long tail of wet days: the case the rule exists for.
    expect(tukeyOutliers(numbers(input.rows, "precipitation"))).toBeGreaterThan(0);
  });

  it("sees precipitation as right-skewed with most days dry", () => {
    const [found] = about(result.insights, "distribution", "precipitation");
    expect(found?.title).toBe("precipitation is right-skewed");
    const values = numbers(input.rows, "precipitation");
    const zeros = values.filter((value) => value === 0).length / values.length;
    expect(found?.detail).toContain(`${Math.round(zeros * 100)}% of the values are exactly 0`);
  });

  it("finds the warming of temp_max over the date, in the direction of the exact slope", () => {
    const slope = slopeOverTime(input.rows, "date", "temp_max");
    expect(slope).toBeGreaterThan(0);
    const [found] = about(result.insights, "trend", "temp_max", "date");
    expect(found?.title).toMatch(/^temp_max rose over date/);
    expect(found?.detail).toContain("2012-01-01 to 2015-12-31");
    expect(found?.detail).toContain(`slope of +${(slope * 365.25).toPrecision(3)} per year`);
    // The line follows the trend that moved furthest (in standard deviations): temp_min, warming like temp_max.
    const strongest = result.insights.find((insight) => insight.kind === "trend");
    expect(strongest?.title).toMatch(/^temp_min rose over date/);
    expect(slopeOverTime(input.rows, "date", "temp_min")).toBeGreaterThan(0);
    const line = result.charts.find((chart) => chart.type === "line");
    expect(fieldsOf(line)).toEqual(["date", "temp_min"]);
    // 1,461 days are too many points: weekly means.
    expect(line?.spec.encoding).toEqual({
      x: { field: "date", type: "temporal", timeUnit: "week" },
      y: { field: "temp_min", type: "quantitative", aggregate: "mean" },
    });
    expect(line?.description).toContain("per week");
  });

  it("describes the weather categories from the profile's top values", () => {
    const weather = input.profile.columns.find((column) => column.name === "weather")!;
    const [found] = about(result.insights, "category", "weather");
    expect(found?.detail).toContain(`weather has ${weather.distinct} distinct values`);
    const bar = result.charts.find((chart) => chart.type === "bar" && fieldsOf(chart)[0] === "weather");
    expect(bar?.spec).toMatchObject({
      encoding: { x: { field: "weather" }, y: { aggregate: "count" } },
      sort: { channel: "y", order: "desc" },
      limit: 10,
    });
  });

  it("plans a histogram of the most skewed column, counted per bin", () => {
    const histogram = result.charts.find((chart) => chart.type === "histogram" && fieldsOf(chart)[0] === "precipitation");
    expect(histogram?.spec.encoding).toEqual({
      x: { field: "precipitation", type: "quantitative", bin: { maxbins: 20 } },
      y: { aggregate: "count", type: "quantitative" },
    });
  });
});

describe("statisticalAnalysis on cars.json (unit)", async () => {
  const input = await load("Cars", carsJson, "json");
  const result = statisticalAnalysis(input);

  it("passes the AnalysisResult schema", () => expectValid(result));

  it("finds Horsepower and Weight_in_lbs correlated over the rows with both values", () => {
    const r = pearson(input.rows, "Horsepower", "Weight_in_lbs");
    const withBoth = input.rows.filter((row) => row.Horsepower !== null && row.Weight_in_lbs !== null).length;
    expect(withBoth).toBe(400);
    const [found] = about(result.insights, "correlation", "Horsepower", "Weight_in_lbs");
    expect(found?.detail).toContain(`r = ${r.toFixed(2)} over 400 rows`);
    expect(found?.title).toMatch(/strongly positively correlated/);
    // Heavier cars go fewer miles per gallon.
    const [mpg] = about(result.insights, "correlation", "Miles_per_Gallon", "Weight_in_lbs");
    expect(mpg?.title).toMatch(/negatively correlated/);
    expect(mpg?.detail).toContain(`r = ${pearson(input.rows, "Miles_per_Gallon", "Weight_in_lbs").toFixed(2)}`);
  });

  it("reports the missing Miles_per_Gallon and Horsepower values and the complete rows", () => {
    const [found] = result.insights.filter((insight) => insight.kind === "missing");
    expect(found?.columns).toEqual(["Miles_per_Gallon", "Horsepower"]);
    expect(found?.detail).toContain("Miles_per_Gallon 2% (8 of 406)");
    expect(found?.detail).toContain("Horsepower 1.5% (6 of 406)");
    const complete = input.rows.filter((row) => Object.values(row).every((value) => value !== null)).length;
    expect(complete).toBe(392);
    expect(found?.detail).toContain(`${complete} of 406 rows`);
    // Shares per column are not one query over the rows, so there is no chart of them.
    expect(result.charts.find((item) => item.title === "Missing values by column")).toBeUndefined();
  });

  it("sees Miles_per_Gallon rise over the model years", () => {
    expect(slopeOverTime(input.rows, "Year", "Miles_per_Gallon")).toBeGreaterThan(0);
    const [found] = about(result.insights, "trend", "Miles_per_Gallon", "Year");
    expect(found?.title).toMatch(/^Miles_per_Gallon rose over Year/);
    const mean = (year: string) => {
      const values = input.rows
        .filter((row) => row.Year === year && row.Miles_per_Gallon !== null)
        .map((row) => Number(row.Miles_per_Gallon));
      return values.reduce((s, v) => s + v, 0) / values.length;
    };
    // Whole years at each end: the first model year against the last.
    expect(found?.detail).toContain(
      `The first year averaged ${Number(mean("1970-01-01").toPrecision(3))} and the last year ${Number(mean("1982-01-01").toPrecision(3))}`,
    );
  });

  it("describes the few-valued Cylinders by its value shares rather than a skew", () => {
    const four = input.rows.filter((row) => row.Cylinders === 4).length;
    const [found] = about(result.insights, "distribution", "Cylinders");
    expect(found?.title).toBe(`Cylinders takes 5 values, most often 4 (${Math.round((four / 406) * 100)}%)`);
    const histogram = result.charts.find((chart) => chart.type === "histogram" && fieldsOf(chart)[0] === "Cylinders");
    // One bin per cylinder count.
    expect(histogram?.spec.encoding.x).toEqual({ field: "Cylinders", type: "quantitative", bin: { step: 1 } });
  });

  it("flags Origin's dominant category and the Name column as identifier-like", () => {
    const usa = input.rows.filter((row) => row.Origin === "USA").length;
    const [origin] = about(result.insights, "category", "Origin");
    expect(origin?.title).toBe(`"USA" dominates Origin (${Math.round((usa / 406) * 100)}%)`);
    expect(about(result.insights, "category", "Name")[0]?.title).toBe("Name is mostly unique");
  });

  it("keeps every cited column real and every chart within the schema's bounds", () => {
    const names = new Set(input.profile.columns.map((column) => column.name));
    for (const insight of result.insights) for (const column of insight.columns) expect(names).toContain(column);
    for (const chart of result.charts) for (const key of fieldsOf(chart)) expect(names).toContain(key);
    expect(result.charts.map((chart) => chart.type).sort()).toEqual(["bar", "heatmap", "heatmap", "histogram", "histogram", "line"]);
  });

  it("is deterministic: two runs on copies of the input are deep-equal", () => {
    expect(statisticalAnalysis(structuredClone(input))).toEqual(result);
  });
});

describe("statisticalAnalysis on co2-concentration.csv (unit)", async () => {
  const input = await load("CO2", co2Csv, "csv");
  const result = statisticalAnalysis(input);

  it("passes the AnalysisResult schema", () => expectValid(result));

  it("finds the steady rise of CO2 as a high-importance trend and charts it aggregated", () => {
    const [found] = about(result.insights, "trend", "CO2", "Date");
    expect(found?.title).toMatch(/^CO2 rose over Date/);
    expect(found?.importance).toBe("high");
    const line = result.charts.find((chart) => chart.type === "line");
    expect(input.rows.length).toBeGreaterThan(250);
    // Monthly readings over six decades: quarterly means keep the line within 250 points.
    expect(line?.description).toContain("per quarter");
    expect(line?.spec.encoding.x).toEqual({ field: "Date", type: "temporal", timeUnit: "quarter" });
  });

  it("calls the raw and adjusted CO2 series near duplicates", () => {
    const [found] = about(result.insights, "correlation", "CO2", "adjusted CO2");
    expect(found?.detail).toContain("nearly the same information");
  });

  it("says when statistics come from a sample of the rows", async () => {
    const sampled = analyse(await load("CO2", co2Csv, "csv", 300));
    expect(sampled.summary).toContain(`Row-level statistics come from a sample of 300 rows.`);
    expect(about(sampled.insights, "trend", "CO2")[0]?.detail).toContain(`(computed on a sample of 300 of ${input.profile.rowCount} rows)`);
  });
});

describe("statisticalAnalysis edge cases (unit)", () => {
  it("handles zero rows: the profiler's empty profile, and a profile that names columns but counts no rows", () => {
    // The profiler adds columns as rows arrive: with no rows its profile has none.
    const empty = analyse({ name: "nothing", profile: new Profiler(["a", "b"]).result(), rows: [] });
    expect(empty).toEqual({ summary: "nothing has no columns, so there is nothing to analyse.", insights: [], charts: [] });
    const column = { count: 0, nulls: 0, distinct: 0, min: null, max: null, mean: null, stddev: null, quantiles: null, topValues: [] };
    const profile = {
      rowCount: 0,
      columns: [
        { ...column, name: "a", type: "string" as const },
        { ...column, name: "b", type: "integer" as const },
      ],
    };
    expect(analyse({ name: "headers only", profile, rows: [] })).toEqual({
      summary:
        "headers only has 0 rows and 2 columns (1 numeric, 1 text). It holds no data rows yet, so there are no statistics to report.",
      insights: [],
      charts: [],
    });
  });

  it("reports an all-null column as empty and a constant column as constant, without correlating them", async () => {
    const rows = Array.from({ length: 50 }, (_, i) => `${i},${i % 7},,5`).join("\n");
    const input = await load("odd", `id,value,blank,constant\n${rows}\n`, "csv");
    const result = analyse(input);
    expect(about(result.insights, "missing", "blank")[0]?.title).toBe("blank is entirely empty");
    expect(about(result.insights, "distribution", "constant")[0]?.title).toBe("constant is constant");
    expect(result.insights.filter((insight) => insight.kind === "correlation")).toEqual([]);
    // The running id is an index, not a measurement: no histogram or outlier insight about it.
    expect(result.insights.some((insight) => insight.columns.includes("id"))).toBe(false);
    expect(result.charts.every((chart) => !fieldsOf(chart).includes("constant") && !fieldsOf(chart).includes("id"))).toBe(true);
  });

  it("handles a single column and a single row", async () => {
    const many = analyse(await load("one", `x\n${Array.from({ length: 30 }, (_, i) => i * i).join("\n")}\n`, "csv"));
    expect(many.summary).toContain("one has 30 rows and 1 column (1 numeric).");
    expect(about(many.insights, "distribution", "x")[0]?.title).toBe("x is right-skewed");
    const single = analyse(await load("one row", "x,y\n1,hello\n", "csv"));
    expect(single.summary).toContain("one row has 1 row and 2 columns");
  });

  it("says which numeric columns it covered when a file has more than it analyses", async () => {
    const header = Array.from({ length: 45 }, (_, i) => `m${i}`).join(",");
    const lines = Array.from({ length: 20 }, (_, r) => Array.from({ length: 45 }, (_, i) => ((r + 1) * (i + 3)) % 17).join(","));
    const result = analyse(await load("wide", `${header}\n${lines.join("\n")}\n`, "csv"));
    expect(result.summary).toContain("cover the first 40 of 45 numeric columns");
    expect(result.insights.some((insight) => insight.columns.includes("m44"))).toBe(false);
  });

  it("stays finite on huge and tiny magnitudes", async () => {
    const values = [1e300, -1e300, 1e-300, 5e-324, 1.7e308, -1.7e308, 0, 3, 1e300, 2e300];
    const input = await load("extremes", `big,small\n${values.map((value, i) => `${value},${i * 1e-300}`).join("\n")}\n`, "csv");
    expect(input.profile.columns.map((column) => column.type)).toEqual(["number", "number"]);
    const result = analyse(input);
    expect(result.summary).toContain("extremes has 10 rows");
    expect(JSON.stringify(result)).not.toMatch(/NaN|Infinity/);
  });

  it("skips non-numeric strings the profile did not see in a numeric column", async () => {
    const input = await load("mixed", `a,b\n${Array.from({ length: 40 }, (_, i) => `${i % 10},${2 * (i % 10) + 1}`).join("\n")}\n`, "csv");
    // The profile says numeric, but these rows carry junk (a sample read from a changed file, a sloppy caller).
    const rows = input.rows.map((row, i) => (i % 5 === 0 ? { a: "n/a?", b: "twelve" } : row));
    const result = analyse({ ...input, rows });
    const [found] = about(result.insights, "correlation", "a", "b");
    expect(found?.detail).toContain("r = 1.00 over 32 rows");
  });

  it.each([
    ["YYYY-MM-DD", (day: number) => new Date(Date.UTC(2024, 0, 1 + day)).toISOString().slice(0, 10)],
    ["ISO with Z", (day: number) => new Date(Date.UTC(2024, 0, 1 + day, 6)).toISOString()],
    ["ISO with offset", (day: number) => `${new Date(Date.UTC(2024, 0, 1 + day)).toISOString().slice(0, 10)}T08:30:00+05:30`],
    ["space, no zone", (day: number) => `${new Date(Date.UTC(2024, 0, 1 + day)).toISOString().slice(0, 10)} 08:30`],
  ])("finds a trend over %s datetimes", async (_, date) => {
    // Out of order on purpose: the engine must sort by the date, not trust the file order.
    const days = Array.from({ length: 60 }, (_, i) => (i * 37) % 60);
    const input = await load("dates", `when,sales\n${days.map((day) => `${date(day)},${100 + 2 * day + (day % 3)}`).join("\n")}\n`, "csv");
    expect(input.profile.columns[0]!.type).toBe("datetime");
    const result = analyse(input);
    const [found] = about(result.insights, "trend", "sales", "when");
    expect(found?.title).toMatch(/^sales rose over when/);
    expect(found?.importance).toBe("high");
    expect(found?.detail).toMatch(/slope of \+2(\.\d+)? per day/);
    // Sixty days: one point a day.
    expect(result.charts.find((chart) => chart.type === "line")?.spec.encoding.x).toEqual({
      field: "when",
      type: "temporal",
      timeUnit: "day",
    });
  });

  it("never cites a column name the schema cannot hold", async () => {
    const long = "x".repeat(400);
    const rows = Array.from({ length: 30 }, (_, i) => ({
      [long]: i % 4 === 0 ? null : (i * 7) % 11,
      "": i % 3 === 0 ? "a" : "b",
      " padded ": i % 2 === 0 ? "x" : "y",
      y: (i * 7) % 11,
    }));
    const result = analyse(await load("names", JSON.stringify(rows), "json"));
    expect(result.insights.length).toBeGreaterThan(0);
    for (const insight of result.insights) expect(insight.columns.every((column) => column.length > 0 && column.length <= 300)).toBe(true);
    // A blank name still gets a subject in prose; a padded one is cited as it is.
    expect(result.insights.some((insight) => insight.detail.startsWith("(unnamed column) has 2 distinct values"))).toBe(true);
    expect(about(result.insights, "category", " padded ")).toHaveLength(1);
    expect(about(result.insights, "correlation", "y")[0]?.title).toBe(`${long.slice(0, 199)}…`);
  });

  it("never throws and always passes the schema on arbitrary small datasets (property)", () => {
    const cell = fc.oneof(
      fc.constant(null),
      fc.double(),
      fc.integer(),
      fc.string({ maxLength: 6 }),
      fc.boolean(),
      fc.constantFrom("2024-01-02", "2024-03-04T05:06:07Z", "NaN", "1e999"),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(cell, cell, cell), { maxLength: 40 }), (cells) => {
        const profiler = new Profiler(["a", "b", "c"]);
        for (const row of cells) profiler.add(row);
        const rows = cells.map(([a, b, c]) => ({ a, b, c }));
        const input = { name: "random", profile: profiler.result(), rows };
        const result = statisticalAnalysis(input);
        PlannedResult.parse(result);
        expect(statisticalAnalysis(input)).toEqual(result);
      }),
      { numRuns: 200, seed: 42 },
    );
  });
});
