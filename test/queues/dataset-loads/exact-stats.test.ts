// Exact statistics after the load, in workerd against the real store: the upload's estimates (distinct counts past the exact
// range, sampled quantiles) are replaced by figures computed over every row, equal to a plain computation over the file here.
import { describe, expect, it } from "vitest";
import { type DatasetBody, getDataset, newProject, settled, upload } from "../../support/dataset-loads.ts";
import { person, type Person } from "../../support/harness.ts";

/** Linear interpolation between order statistics (DuckDB's quantile_cont, R type 7), the plain way. */
function quantileCont(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
const POINTS = { p5: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95 };

interface ProfiledColumn {
  name: string;
  type: string;
  distinct: number;
  quantiles: Record<string, number> | null;
  approximate?: { distinct: boolean; quantiles: boolean };
}

/** Polls the ready dataset until no column says it holds an estimate (the job replaces them just after the load). */
async function exact(who: Person, id: string, timeoutMs = 45_000): Promise<DatasetBody> {
  const started = Date.now();
  for (;;) {
    const dataset = await getDataset(who, id);
    const columns = dataset.profile.columns as ProfiledColumn[];
    if (columns.every((column) => column.approximate?.distinct === false && column.approximate.quantiles === false)) return dataset;
    expect(Date.now() - started, `dataset ${id} still has estimates`).toBeLessThan(timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("exact statistics after the load", () => {
  it("replaces the estimates with exact distinct counts and interpolated quantiles, and marks them exact", {
    timeout: 120_000,
  }, async () => {
    const ada = await person("exact-stats");
    const rows = 3_000;
    // Years as column names (the header must still be read as one), decimals sometimes padded with a space, blanks, integers.
    const country = (i: number) => `c${(i * 17) % 2_611}`;
    const y1960 = (i: number) => (i % 11 === 0 ? null : ((i * 7_919) % 10_007) / 100);
    const y1961 = (i: number) => (i * 104_729) % 5_003;
    // Few distinct values (counted exactly by the upload), too many to hold for quantiles.
    const y1962 = (i: number) => (i * 3) % 7;
    const csv = `Country,1960,1961,1962\n${Array.from({ length: rows }, (_, i) => {
      const a = y1960(i);
      return `${country(i)},${a === null ? "" : i % 5 === 0 ? ` ${a}` : a},${y1961(i)},${y1962(i)}`;
    }).join("\n")}\n`;
    const countries = Array.from({ length: rows }, (_, i) => country(i));
    const first = Array.from({ length: rows }, (_, i) => y1960(i)).filter((v): v is number => v !== null);
    const second = Array.from({ length: rows }, (_, i) => y1961(i));
    const third = Array.from({ length: rows }, (_, i) => y1962(i));

    const uploaded = await upload(ada, await newProject(ada), csv);
    expect(uploaded.rowCount).toBe(rows);
    const before = uploaded.profile.columns as ProfiledColumn[];
    expect(before.map((column) => [column.name, column.type])).toEqual([
      ["Country", "string"],
      ["1960", "number"],
      ["1961", "integer"],
      ["1962", "integer"],
    ]);
    // Past the exact range (2,048 values a column at this width) the upload could only estimate.
    expect(before[0]!.approximate).toEqual({ distinct: true, quantiles: false });
    expect(before[1]!.approximate!.quantiles).toBe(true);
    expect(before[3]!).toMatchObject({ distinct: 7, approximate: { distinct: false, quantiles: true } });

    expect((await settled(ada, uploaded.id)).query.status).toBe("ready");
    const dataset = await exact(ada, uploaded.id);
    const [countryColumn, firstColumn, secondColumn, thirdColumn] = dataset.profile.columns as ProfiledColumn[];
    expect(countryColumn).toMatchObject({
      distinct: new Set(countries).size,
      quantiles: null,
      approximate: { distinct: false, quantiles: false },
    });
    for (const [column, values] of [
      [firstColumn!, first],
      [secondColumn!, second],
      [thirdColumn!, third],
    ] as const) {
      expect(column.distinct).toBe(new Set(values).size);
      expect(column.approximate).toEqual({ distinct: false, quantiles: false });
      for (const [key, p] of Object.entries(POINTS))
        expect(column.quantiles![key], `${column.name} ${key}`).toBeCloseTo(quantileCont(values, p), 9);
    }
  });
});
