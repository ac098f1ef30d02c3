// The profile's streaming sketches against exact answers computed the slow way.
import { describe, expect, it } from "vitest";
import { Profiler } from "../../../../src/services/datasets/profile/profiler.ts";
import { DistinctCounter, hashBytes, Moments, Reservoir, TopValues } from "../../../../src/services/datasets/profile/sketches.ts";

const hashOf = (text: string) => {
  const bytes = new TextEncoder().encode(text);
  return hashBytes(bytes, 0, bytes.length);
};

describe("DistinctCounter (HyperLogLog)", () => {
  it.each([10, 1_000, 100_000])("estimates %i distinct values within 3 %", (n) => {
    const counter = new DistinctCounter();
    for (let i = 0; i < n; i++) counter.addHash(hashOf(`value-${i}`));
    for (let i = 0; i < n; i++) counter.addHash(hashOf(`value-${i}`)); // repeats change nothing
    expect(Math.abs(counter.estimate() - n) / n).toBeLessThan(0.03);
  });
});

describe("Reservoir", () => {
  it("estimates quantiles of a large uniform stream closely", () => {
    const reservoir = new Reservoir();
    for (let i = 0; i < 200_000; i++) reservoir.add(i);
    const q = reservoir.quantiles([0.05, 0.5, 0.95])!;
    expect(Math.abs(q.p50! - 100_000)).toBeLessThan(200_000 * 0.05);
    expect(Math.abs(q.p5! - 10_000)).toBeLessThan(200_000 * 0.03);
    expect(Math.abs(q.p95! - 190_000)).toBeLessThan(200_000 * 0.03);
  });

  it("takes a value many times over in one step, as a sample of that many", () => {
    const few = new Reservoir(256);
    few.add(5, 3);
    expect(few.quantiles([0, 1])).toEqual({ p0: 5, p100: 5 });
    // 10,000 zeros (filling the sample, then skipped) and 10,000 ones: about half the sample is ones (within six standard deviations).
    const reservoir = new Reservoir(256);
    reservoir.add(0, 100);
    for (let i = 0; i < 99; i++) reservoir.add(0, 100);
    reservoir.add(1, 10_000);
    // The sorted sample read at 100 even points: how many read 1 is the share of ones, to 1 %.
    const points = Object.values(reservoir.quantiles(Array.from({ length: 100 }, (_, i) => i / 100))!);
    const ones = points.filter((point) => point === 1).length / points.length;
    expect(points).toHaveLength(100);
    expect(ones).toBeGreaterThan(0.3);
    expect(ones).toBeLessThan(0.7);
  });
});

describe("TopValues", () => {
  it("counts frequent values exactly among many rare ones", () => {
    const top = new TopValues(64);
    for (let i = 0; i < 10_000; i++) top.add(i % 10 === 0 ? "frequent" : i % 3 === 0 ? "common" : `rare-${i}`);
    const [first, second] = top.top(2);
    expect(first).toEqual({ key: "common", entry: { count: expect.any(Number) } });
    expect(second).toEqual({ key: "frequent", entry: { count: 1_000 } });
    expect(Math.abs(first!.entry.count - 3_000)).toBeLessThan(100);
    expect(top.unique).toBe(false);
  });

  it("gives up on an all-distinct column", () => {
    const top = new TopValues(64);
    for (let i = 0; i < 1_000; i++) top.add(`id-${i}`);
    expect(top.unique).toBe(true);
  });
});

describe("Moments", () => {
  it("matches the two-pass mean and sample standard deviation", () => {
    const values = [2, 4, 4, 4, 5, 5, 7, 9];
    const moments = new Moments();
    for (const value of values) moments.add(value);
    const mean = values.reduce((a, b) => a + b) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
    expect(moments.result()!.mean).toBeCloseTo(mean, 12);
    expect(moments.result()!.stddev).toBeCloseTo(sd, 12);
  });

  it("takes a value many times over in one step, as that many single values", () => {
    const once = new Moments();
    const grouped = new Moments();
    for (const [value, times] of [
      [3.5, 1],
      [10, 400],
      [-2, 7],
      [10, 1],
      [1e6, 3],
    ] as const) {
      for (let i = 0; i < times; i++) once.add(value);
      grouped.add(value, times);
    }
    expect(grouped.count).toBe(once.count);
    expect(grouped.result()!.mean).toBeCloseTo(once.result()!.mean, 9);
    expect(grouped.result()!.stddev).toBeCloseTo(once.result()!.stddev, 9);
  });
});

describe("Profiler", () => {
  it("infers each type and treats the usual null spellings as nulls", () => {
    const profiler = new Profiler(["int", "num", "bool", "date", "text", "mixed"]);
    const rows = [
      ["1", "1.5", "true", "2026-01-01", "a", "1"],
      ["-2", "2e3", "FALSE", "2026-01-02T10:00:00Z", "b", "x"],
      ["", "NA", "null", "N/A", "", "2"],
    ];
    for (const row of rows) profiler.add(row);
    const types = Object.fromEntries(profiler.result().columns.map((c) => [c.name, [c.type, c.nulls]]));
    expect(types).toEqual({
      int: ["integer", 1],
      num: ["number", 1],
      bool: ["boolean", 1],
      date: ["datetime", 1],
      text: ["string", 1],
      mixed: ["string", 0],
    });
  });
});
