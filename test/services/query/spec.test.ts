// The chart spec compiler: the SQL it writes and every SpecError path, then each feature executed on real SQLite in a Durable
// Object and compared with the same figure computed in plain JS over the generated rows.
// The store runs in a SessionRoom (SQLite-backed) for now: these execution tests move to the DatasetStore class once it exists.
import { env, runInDurableObject } from "cloudflare:test";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ChartPlan } from "../../../src/services/analysis/result.ts";
import { ChartSpec, compileSpec, type SpecColumn, SpecError } from "../../../src/services/query/spec.ts";

type Cell = string | number | null;
type Row = Record<string, Cell>;

const QUOTED = 'say "hi"';
const columns: SpecColumn[] = [
  { name: "id", type: "integer" },
  { name: "price", type: "number" },
  { name: "qty", type: "integer" },
  { name: "region", type: "string" },
  { name: "segment", type: "string" },
  { name: "active", type: "boolean" },
  { name: "at", type: "datetime" },
  { name: QUOTED, type: "string" },
];
const sqlType = { integer: "INTEGER", number: "REAL", boolean: "INTEGER", datetime: "TEXT", string: "TEXT" } as const;

// A seeded generator, so a failure can be replayed.
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const N = 3_000;
const regions = ["North", "South", "East", "West", "Central"];
const start = Date.UTC(2021, 0, 1);
const end = Date.UTC(2025, 0, 1);
/** Dates that pin the week rule: ISO weeks start on Monday, across year ends (2021-01-03 is in the week of 2020-12-28). */
const fixedDates = ["2021-01-03T23:59:59.999Z", "2021-01-04T00:00:00.000Z", "2024-12-29T12:00:00.000Z", "2024-12-30T00:00:00.000Z"];
const rows: Row[] = (() => {
  const next = random(17);
  const maybe = <T>(p: number, value: T): T | null => (next() < p ? null : value);
  return Array.from({ length: N }, (_, i) => {
    const segment = ["retail", "wholesale", "void"][Math.floor(next() * 3)]!;
    return {
      id: i + 1,
      // Cents, some negative; the "void" segment has no prices at all (its median and mean are NULL).
      price: segment === "void" ? null : maybe(0.05, Math.round(next() * 100_000) / 100 - 50),
      qty: maybe(0.05, Math.floor(next() * 41)),
      region: maybe(0.04, regions[Math.floor(next() * regions.length)]!),
      segment,
      active: maybe(0.1, next() < 0.6 ? 1 : 0),
      at: i < fixedDates.length ? fixedDates[i]! : maybe(0.05, new Date(start + Math.floor(next() * (end - start))).toISOString()),
      [QUOTED]: maybe(0.5, `v${Math.floor(next() * 7)}`),
    };
  });
})();

const stub = env.SESSION_ROOMS.get(env.SESSION_ROOMS.idFromName(`spec-test-${crypto.randomUUID()}`));

beforeAll(async () => {
  await runInDurableObject(stub, (_instance, ctx) => {
    const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
    ctx.storage.sql.exec(`CREATE TABLE dataset (${columns.map((c) => `${q(c.name)} ${sqlType[c.type]}`).join(", ")})`);
    const insert = `INSERT INTO dataset VALUES (${columns.map(() => "?").join(", ")})`;
    ctx.storage.transactionSync(() => {
      for (const row of rows) ctx.storage.sql.exec(insert, ...columns.map((c) => row[c.name] ?? null));
    });
  });
});

async function run(spec: ChartSpec, options?: { maxLimit?: number }): Promise<Row[]> {
  const { sql, params } = compileSpec(spec, columns, options);
  return runInDurableObject(stub, (_instance, ctx) => ctx.storage.sql.exec(sql, ...params).toArray() as Row[]);
}

function specError(spec: unknown, options?: { maxLimit?: number }): SpecError {
  try {
    compileSpec(spec as ChartSpec, columns, options);
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  throw new Error("compiled, but a SpecError was expected");
}

// ---- the independent computations (plain JS over `rows`) ----

const num = (v: Cell): number | null => (typeof v === "number" ? v : null);
function groups<K extends string>(key: (row: Row) => Cell, of: Row[] = rows): Map<Cell, Row[]> {
  const map = new Map<Cell, Row[]>();
  for (const row of of) {
    const k = key(row) as K | Cell;
    map.set(k, [...(map.get(k) ?? []), row]);
  }
  return map;
}
const values = (of: Row[], field: string): number[] => of.map((r) => num(r[field]!)).filter((v): v is number => v !== null);
const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) / 2;
  return s[Math.floor(h)]! + (s[Math.ceil(h)]! - s[Math.floor(h)]!) * (h - Math.floor(h));
}
/** NULLs last, then ascending (text by code unit: the data is ASCII, where that is SQLite's byte order). */
function compare(a: Cell, b: Cell): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}
function close(actual: Cell, expected: number | null): void {
  if (expected === null) return void expect(actual).toBeNull();
  expect(typeof actual).toBe("number");
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
}

/** Vega's bin step search (start near span/10^level, grow by 10, then try /5 and /2), written independently of the SQL. */
function niceStep(span: number, maxbins: number): number {
  const level = Math.ceil(Math.log10(maxbins));
  let step = 10 ** (Math.round(Math.log10(span)) - level);
  while (Math.ceil(span / step) > maxbins) step *= 10;
  for (const divide of [5, 2]) if (span / (step / divide) <= maxbins) step /= divide;
  return step;
}
function binIndex(v: number, step: number): number {
  const k = Math.round(v / step);
  return Math.abs(v - k * step) < 1e-9 * Math.max(1, Math.abs(v)) ? k : Math.floor(v / step);
}

function periodStart(iso: string, unit: string): string {
  const d = new Date(iso);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  const at = (...parts: number[]) => new Date(Date.UTC(parts[0]!, parts[1] ?? 0, parts[2] ?? 1, parts[3] ?? 0)).toISOString();
  switch (unit) {
    case "year":
      return at(y);
    case "quarter":
      return at(y, m - (m % 3));
    case "month":
      return at(y, m);
    case "week":
      return at(y, m, day - ((d.getUTCDay() + 6) % 7));
    case "day":
      return at(y, m, day);
    default:
      return at(y, m, day, d.getUTCHours());
  }
}

describe("compileSpec: the statement", () => {
  it("groups by the plain channels, aggregates the others, binds every value and the limit", () => {
    const compiled = compileSpec(
      {
        encoding: { x: { field: "region", type: "nominal" }, y: { field: "price", aggregate: "mean" } },
        filter: [{ field: "qty", op: ">", value: 3 }],
        sort: { channel: "y", order: "desc" },
        limit: 10,
      },
      columns,
    );
    expect(compiled.sql).toBe(
      'WITH _rows AS (SELECT "dataset"."region" AS _c0, "dataset"."price" AS _c1 FROM "dataset" WHERE "dataset"."qty" > ?) ' +
        'SELECT _c0 AS "region", avg(_c1) AS "price" FROM _rows GROUP BY _c0 ORDER BY 2 DESC NULLS LAST, 1 ASC NULLS LAST LIMIT ?',
    );
    expect(compiled.params).toEqual([3, 10]);
    expect(compiled.fields).toEqual([
      { name: "region", channel: "x" },
      { name: "price", channel: "y" },
    ]);
  });

  it("quotes identifiers (double quotes doubled) and never puts a value in the text", async () => {
    const evil = `x' OR 1=1; DROP TABLE dataset; --`;
    const compiled = compileSpec(
      { encoding: { x: { field: QUOTED }, y: { aggregate: "count" } }, filter: [{ field: QUOTED, op: "=", value: evil }] },
      columns,
    );
    expect(compiled.sql).toContain('"say ""hi"""');
    expect(compiled.sql).not.toContain("DROP");
    expect(compiled.params).toEqual([evil, 10_000]);
    expect(
      await run({ encoding: { x: { field: QUOTED }, y: { aggregate: "count" } }, filter: [{ field: QUOTED, op: "=", value: evil }] }),
    ).toEqual([]);
    expect((await run({ encoding: { y: { aggregate: "count" } } }))[0]!.count).toBe(N);
  });

  it("names outputs after fields, `count` for rows, and prefixes a name two channels would share", () => {
    const { fields } = compileSpec(
      { encoding: { x: { field: "price", bin: true }, y: { field: "price", aggregate: "mean" }, color: { aggregate: "count" } } },
      columns,
    );
    expect(fields).toEqual([
      { name: "price", channel: "x" },
      { name: "price_end", channel: "x2" },
      { name: "mean_price", channel: "y" },
      { name: "count", channel: "color" },
    ]);
  });

  it("defaults the limit to the maximum, which the caller may set", () => {
    expect(compileSpec({ encoding: { x: { field: "id" } } }, columns).params).toEqual([10_000]);
    expect(compileSpec({ encoding: { x: { field: "id" } } }, columns, { maxLimit: 500 }).params).toEqual([500]);
    expect(compileSpec({ encoding: { x: { field: "id" } }, limit: 500 }, columns, { maxLimit: 500 }).params).toEqual([500]);
  });
});

describe("compileSpec: SpecError names what is wrong", () => {
  const cases: [string, unknown, string][] = [
    ["a column the dataset lacks", { encoding: { x: { field: "prize" } } }, "encoding.x.field"],
    [
      "a filter column the dataset lacks",
      { encoding: { x: { field: "id" } }, filter: [{ field: "nope", op: "=", value: 1 }] },
      "filter.0.field",
    ],
    ["a limit of 10^9", { encoding: { x: { field: "id" } }, limit: 1e9 }, "limit"],
    ["a limit of 0", { encoding: { x: { field: "id" } }, limit: 0 }, "limit"],
    ["a fractional limit", { encoding: { x: { field: "id" } }, limit: 2.5 }, "limit"],
    ["sum of text", { encoding: { x: { field: "region" }, y: { field: "segment", aggregate: "sum" } } }, "encoding.y.aggregate"],
    ["mean of text", { encoding: { y: { field: "region", aggregate: "mean" } } }, "encoding.y.aggregate"],
    ["median of a datetime", { encoding: { color: { field: "at", aggregate: "median" } } }, "encoding.color.aggregate"],
    ["a bin on text", { encoding: { x: { field: "region", bin: true } } }, "encoding.x.bin"],
    ["a bin on a datetime", { encoding: { x: { field: "at", bin: { step: 1 } } } }, "encoding.x.bin"],
    ["a bin of no bins", { encoding: { x: { field: "price", bin: { maxbins: 0 } } } }, "encoding.x.bin.maxbins"],
    ["a bin of a negative step", { encoding: { x: { field: "price", bin: { step: -1 } } } }, "encoding.x.bin.step"],
    ["a time unit on a number", { encoding: { x: { field: "price", timeUnit: "month" } } }, "encoding.x.timeUnit"],
    ["a time unit on text", { encoding: { x: { field: "region", timeUnit: "year" } } }, "encoding.x.timeUnit"],
    ["an unknown time unit", { encoding: { x: { field: "at", timeUnit: "fortnight" } } }, "encoding.x.timeUnit"],
    ["an aggregate and a bin", { encoding: { x: { field: "price", aggregate: "max", bin: true } } }, "encoding.x"],
    ["a mean without a field", { encoding: { x: { field: "region" }, y: { aggregate: "mean" } } }, "encoding.y.field"],
    ["no channel", { encoding: {} }, "encoding"],
    ["an unknown channel", { encoding: { x: { field: "id" }, size: { field: "id" } } }, "encoding"],
    ["an unknown aggregate", { encoding: { y: { field: "id", aggregate: "variance" } } }, "encoding.y.aggregate"],
    ["an unknown filter op", { encoding: { x: { field: "id" } }, filter: [{ field: "id", op: "like", value: "a" }] }, "filter.0.op"],
    [
      "too many filters",
      { encoding: { x: { field: "id" } }, filter: Array.from({ length: 21 }, () => ({ field: "id", op: "isNull" })) },
      "filter",
    ],
    ["text for a number", { encoding: { x: { field: "id" } }, filter: [{ field: "price", op: ">", value: "5" }] }, "filter.0.value"],
    ["a missing comparison value", { encoding: { x: { field: "id" } }, filter: [{ field: "price", op: "<" }] }, "filter.0.value"],
    ["a list for =", { encoding: { x: { field: "id" } }, filter: [{ field: "id", op: "=", value: [1, 2] }] }, "filter.0.value"],
    ["an empty in list", { encoding: { x: { field: "id" } }, filter: [{ field: "id", op: "in", value: [] }] }, "filter.0.value"],
    [
      "a wrong item in an in list",
      { encoding: { x: { field: "id" } }, filter: [{ field: "id", op: "in", value: [1, "two"] }] },
      "filter.0.value.1",
    ],
    ["between of one value", { encoding: { x: { field: "id" } }, filter: [{ field: "id", op: "between", value: [1] }] }, "filter.0.value"],
    [
      "between of a wrong high",
      { encoding: { x: { field: "id" } }, filter: [{ field: "id", op: "between", value: [1, true] }] },
      "filter.0.value.1",
    ],
    ["isNull of a number", { encoding: { x: { field: "id" } }, filter: [{ field: "id", op: "isNull", value: 1 }] }, "filter.0.value"],
    [
      "a date that is not one",
      { encoding: { x: { field: "id" } }, filter: [{ field: "at", op: ">", value: "last tuesday" }] },
      "filter.0.value",
    ],
    ["an impossible date", { encoding: { x: { field: "id" } }, filter: [{ field: "at", op: ">", value: "2024-02-31" }] }, "filter.0.value"],
    ["a boolean for text", { encoding: { x: { field: "id" } }, filter: [{ field: "region", op: "=", value: true }] }, "filter.0.value"],
    ["a number for a boolean", { encoding: { x: { field: "id" } }, filter: [{ field: "active", op: "=", value: 2 }] }, "filter.0.value"],
    [
      "a second filter's bad value",
      {
        encoding: { x: { field: "id" } },
        filter: [
          { field: "id", op: "isNull" },
          { field: "qty", op: ">=", value: null },
        ],
      },
      "filter.1.value",
    ],
    ["sort by both", { encoding: { x: { field: "id" } }, sort: { channel: "x", field: "id" } }, "sort"],
    ["sort by neither", { encoding: { x: { field: "id" } }, sort: { order: "desc" } }, "sort"],
    ["sort by a missing channel", { encoding: { x: { field: "id" } }, sort: { channel: "y" } }, "sort.channel"],
    [
      "sort by a field not in the output",
      { encoding: { x: { field: "region" }, y: { aggregate: "count" } }, sort: { field: "price" } },
      "sort.field",
    ],
    ["sort by a column the dataset lacks", { encoding: { x: { field: "id" } }, sort: { field: "nope" } }, "sort.field"],
  ];
  it.each(cases)("%s: %s", (_name, spec, path) => {
    const error = specError(spec);
    expect(error.path).toBe(path);
    expect(error.message).toContain(path);
  });

  it("a limit over the caller's maximum", () => {
    expect(specError({ encoding: { x: { field: "id" } }, limit: 501 }, { maxLimit: 500 }).message).toMatch(/^limit: at most 500/);
  });
});

describe("compileSpec executed on SQLite, against plain JS", () => {
  it("count of rows, count of values, sum, mean, median, min, max and distinct per group", async () => {
    const aggregates = ["count", "sum", "mean", "median", "min", "max", "distinct"] as const;
    for (const aggregate of aggregates) {
      const result = await run({ encoding: { x: { field: "segment" }, y: { field: "price", aggregate } } });
      const expected = [...groups((r) => r.segment!)].sort(([a], [b]) => compare(a, b));
      expect(result.map((r) => r.segment)).toEqual(expected.map(([k]) => k));
      for (const [i, [, members]] of expected.entries()) {
        const xs = values(members, "price");
        const want = {
          count: xs.length,
          sum: xs.length ? xs.reduce((a, b) => a + b, 0) : null,
          mean: mean(xs),
          median: median(xs),
          min: xs.length ? Math.min(...xs) : null,
          max: xs.length ? Math.max(...xs) : null,
          distinct: new Set(xs).size,
        }[aggregate];
        close(result[i]!.price!, want);
      }
    }
    const rowsPerRegion = await run({ encoding: { x: { field: "region" }, y: { aggregate: "count" } } });
    const expected = [...groups((r) => r.region!)].sort(([a], [b]) => compare(a, b));
    expect(rowsPerRegion).toEqual(expected.map(([region, members]) => ({ region, count: members.length })));
    expect(expected.at(-1)![0]).toBeNull(); // the NULL region is a group, last
  });

  it("median of odd and even groups, without groups, and min/max/distinct of text and datetimes", async () => {
    const [all] = await run({ encoding: { x: { field: "price", aggregate: "median" }, y: { field: "qty", aggregate: "median" } } });
    close(all!.price!, median(values(rows, "price")));
    close(all!.qty!, median(values(rows, "qty")));
    const perQty = await run({ encoding: { x: { field: "qty" }, y: { field: "price", aggregate: "median" } } });
    const expected = [...groups((r) => r.qty!)].sort(([a], [b]) => compare(a, b));
    expect(perQty.length).toBe(expected.length);
    const sizes = new Set(expected.map(([, m]) => values(m, "price").length % 2));
    expect(sizes).toEqual(new Set([0, 1])); // both interpolated and middle-value medians are exercised
    for (const [i, [qty, members]] of expected.entries()) {
      expect(perQty[i]!.qty).toBe(qty);
      close(perQty[i]!.price!, median(values(members, "price")));
    }
    const encoding = {
      x: { field: "region", aggregate: "min" },
      y: { field: "at", aggregate: "max" },
      color: { field: "region", aggregate: "distinct" },
    } as const;
    const text = (await run({ encoding }))[0]!;
    const regionsSeen = rows
      .map((r) => r.region)
      .filter((v): v is string => v !== null)
      .sort();
    const dates = rows
      .map((r) => r.at)
      .filter((v): v is string => v !== null)
      .sort();
    expect(text).toEqual({ region: regionsSeen[0], at: dates.at(-1), distinct_region: new Set(regionsSeen).size });
  });

  it("sum and mean of a boolean count and share the trues", async () => {
    const [result] = await run({ encoding: { x: { field: "active", aggregate: "sum" }, y: { field: "active", aggregate: "mean" } } });
    const flags = values(rows, "active");
    expect(result!.active).toBe(flags.filter((v) => v === 1).length);
    close(result!.mean_active!, mean(flags));
  });

  it("bins by count: nice steps, the last bin holding the maximum, counts per bin", async () => {
    for (const [field, maxbins] of [
      ["price", 10],
      ["price", 7],
      ["price", 30],
      ["qty", 10],
      ["qty", 4],
    ] as const) {
      const result = await run({ encoding: { x: { field, bin: { maxbins } }, y: { aggregate: "count" } } });
      const xs = values(rows, field);
      const lo = Math.min(...xs);
      const hi = Math.max(...xs);
      const step = niceStep(hi - lo, maxbins);
      const last = Math.ceil(hi / step - 1e-9) - 1;
      const counts = new Map<number, number>();
      for (const v of xs) {
        const bin = Math.min(binIndex(v, step), last);
        counts.set(bin, (counts.get(bin) ?? 0) + 1);
      }
      const nulls = rows.length - xs.length;
      const expected = [...counts].sort(([a], [b]) => a - b);
      expect(result.length).toBe(expected.length + (nulls ? 1 : 0));
      expect(result.length - (nulls ? 1 : 0)).toBeLessThanOrEqual(maxbins + 1);
      for (const [i, [bin, count]] of expected.entries()) {
        close(result[i]![field]!, bin * step);
        close(result[i]![`${field}_end`]!, (bin + 1) * step);
        expect(result[i]!.count).toBe(count);
      }
      if (nulls) expect(result.at(-1)).toEqual({ [field]: null, [`${field}_end`]: null, count: nulls });
      // Every row is in a bin (the maximum included).
      expect(result.reduce((total, r) => total + (r.count as number), 0)).toBe(N);
    }
  });

  it("bins by count over the filtered rows only", async () => {
    const result = await run({
      encoding: { x: { field: "qty", bin: { maxbins: 5 } }, y: { aggregate: "count" } },
      filter: [{ field: "qty", op: "between", value: [10, 20] }],
    });
    // 10..20 spans 10: step 2, bins 10,12,…,18 with 20 in the last.
    expect(result.map((r) => r.qty)).toEqual([10, 12, 14, 16, 18]);
    const xs = values(rows, "qty").filter((v) => v >= 10 && v <= 20);
    expect(result.map((r) => r.count)).toEqual(
      [10, 12, 14, 16, 18].map((b) => xs.filter((v) => v >= b && (v < b + 2 || (b === 18 && v === 20))).length),
    );
  });

  it("bins by step, anchored at 0, half-open, negatives floored", async () => {
    for (const [field, step] of [
      ["price", 25],
      ["price", 0.5],
      ["qty", 3],
    ] as const) {
      const result = await run({ encoding: { x: { field, bin: { step } }, y: { aggregate: "count" }, color: { field: "segment" } } });
      const counts = new Map<string, { bin: number; segment: Cell; count: number }>();
      for (const row of rows) {
        const v = num(row[field]!);
        if (v === null) continue;
        const bin = binIndex(v, step);
        const key = `${bin}|${row.segment}`;
        counts.set(key, { bin, segment: row.segment!, count: (counts.get(key)?.count ?? 0) + 1 });
      }
      const expected = [...counts.values()].sort((a, b) => a.bin - b.bin || compare(a.segment, b.segment));
      const binned = result.filter((r) => r[field] !== null);
      expect(binned.length).toBe(expected.length);
      for (const [i, want] of expected.entries()) {
        close(binned[i]![field]!, want.bin * step);
        expect(binned[i]!.segment).toBe(want.segment);
        expect(binned[i]!.count).toBe(want.count);
      }
      if (field === "price") expect(binned[0]![field]).toBeLessThan(0);
    }
  });

  it("each time unit: the start of the period, ISO weeks from Monday", async () => {
    for (const unit of ["year", "quarter", "month", "week", "day", "hour"] as const) {
      const result = await run({ encoding: { x: { field: "at", timeUnit: unit }, y: { aggregate: "count" } } });
      const expected = [...groups((r) => (r.at === null ? null : periodStart(r.at as string, unit)))].sort(([a], [b]) => compare(a, b));
      expect(result).toEqual(expected.map(([at, members]) => ({ at, count: members.length })));
    }
    const weeks = await run({
      encoding: { x: { field: "at", timeUnit: "week" }, y: { field: "id", aggregate: "min" } },
      filter: [{ field: "id", op: "<=", value: 4 }],
    });
    expect(weeks).toEqual([
      { at: "2020-12-28T00:00:00.000Z", id: 1 }, // Sunday 2021-01-03: ISO week 53 of 2020
      { at: "2021-01-04T00:00:00.000Z", id: 2 }, // Monday
      { at: "2024-12-23T00:00:00.000Z", id: 3 },
      { at: "2024-12-30T00:00:00.000Z", id: 4 }, // Monday of ISO week 1 of 2025
    ]);
  });

  it("each filter op, on numbers, text, booleans and datetimes, with SQL's NULL rule", async () => {
    const count = async (filter: ChartSpec["filter"]) => (await run({ encoding: { y: { aggregate: "count" } }, filter }))[0]!.count;
    const where = (test: (r: Row) => boolean) => rows.filter(test).length;
    const p = (r: Row) => r.price as number | null;
    const cases: [ChartSpec["filter"], number][] = [
      [[{ field: "price", op: "=", value: rows[10]!.price! }], where((r) => p(r) === rows[10]!.price)],
      [[{ field: "region", op: "!=", value: "North" }], where((r) => r.region !== null && r.region !== "North")],
      [[{ field: "price", op: "<", value: 100 }], where((r) => p(r) !== null && p(r)! < 100)],
      [[{ field: "price", op: "<=", value: 100.5 }], where((r) => p(r) !== null && p(r)! <= 100.5)],
      [[{ field: "qty", op: ">", value: 20 }], where((r) => r.qty !== null && (r.qty as number) > 20)],
      [[{ field: "qty", op: ">=", value: 20 }], where((r) => r.qty !== null && (r.qty as number) >= 20)],
      [[{ field: "region", op: "in", value: ["East", "West"] }], where((r) => r.region === "East" || r.region === "West")],
      [[{ field: "qty", op: "in", value: [0, 40] }], where((r) => r.qty === 0 || r.qty === 40)],
      [[{ field: "price", op: "between", value: [0, 250.25] }], where((r) => p(r) !== null && p(r)! >= 0 && p(r)! <= 250.25)],
      [[{ field: "price", op: "isNull" }], where((r) => p(r) === null)],
      [[{ field: "price", op: "isNull", value: false }], where((r) => p(r) !== null)],
      [[{ field: "active", op: "=", value: true }], where((r) => r.active === 1)],
      [[{ field: "active", op: "in", value: [false] }], where((r) => r.active === 0)],
      [[{ field: "at", op: ">=", value: "2024-03-01" }], where((r) => r.at !== null && (r.at as string) >= "2024-03-01T00:00:00.000Z")],
      [
        [{ field: "at", op: "<", value: "2022-06-01T12:00+02:00" }],
        where((r) => r.at !== null && Date.parse(r.at as string) < Date.UTC(2022, 5, 1, 10)),
      ],
      [
        [{ field: "at", op: "between", value: ["2023-01-01", "2023-01-31 23:59:59.999"] }],
        where((r) => r.at !== null && (r.at as string).startsWith("2023-01")),
      ],
      [[{ field: QUOTED, op: "=", value: "v3" }], where((r) => r[QUOTED] === "v3")],
      [
        [
          { field: "region", op: "=", value: "South" },
          { field: "qty", op: "<", value: 10 },
          { field: "active", op: "isNull" },
        ],
        where((r) => r.region === "South" && r.qty !== null && (r.qty as number) < 10 && r.active === null),
      ],
    ];
    for (const [filter, expected] of cases) {
      expect(expected).toBeGreaterThan(0); // a case matching nothing would prove little
      expect(await count(filter), JSON.stringify(filter)).toBe(expected);
    }
  });

  it("sorts by a channel or an output field, ties by the groups, and limits (top 3 regions by mean price)", async () => {
    const byMean = [...groups((r) => r.region!)]
      .map(([region, members]) => ({ region, price: mean(values(members, "price"))! }))
      .sort((a, b) => b.price - a.price);
    const top = await run({
      encoding: { x: { field: "region" }, y: { field: "price", aggregate: "mean" } },
      sort: { channel: "y", order: "desc" },
      limit: 3,
    });
    expect(top.map((r) => r.region)).toEqual(byMean.slice(0, 3).map((r) => r.region));
    top.forEach((r, i) => close(r.price!, byMean[i]!.price));
    const byName = await run({ encoding: { x: { field: "region" }, y: { aggregate: "count" } }, sort: { field: "region", order: "desc" } });
    expect(byName.map((r) => r.region)).toEqual(
      [...regions]
        .sort()
        .reverse()
        .concat([null as never]),
    );
    // Ties: equal counts are ordered by the grouped channel.
    const byCount = await run({ encoding: { x: { field: "qty" }, y: { aggregate: "count" } }, sort: { field: "count", order: "asc" } });
    const expected = [...groups((r) => r.qty!)]
      .map(([qty, m]) => ({ qty, count: m.length }))
      .sort((a, b) => a.count - b.count || compare(a.qty, b.qty));
    expect(byCount).toEqual(expected);
  });

  it("without an aggregate, returns rows in table order, filtered, sorted by any column, limited", async () => {
    const first = await run({ encoding: { x: { field: "price" }, y: { field: "qty" } }, limit: 5 });
    expect(first).toEqual(rows.slice(0, 5).map((r) => ({ price: r.price, qty: r.qty })));
    const dearest = await run({
      encoding: { x: { field: "region" }, y: { field: "qty" } },
      filter: [{ field: "price", op: "isNull", value: false }],
      sort: { field: "price", order: "desc" },
      limit: 20,
    });
    const expected = rows
      .filter((r) => r.price !== null)
      .sort((a, b) => (b.price as number) - (a.price as number) || (a.id as number) - (b.id as number))
      .slice(0, 20)
      .map((r) => ({ region: r.region, qty: r.qty }));
    expect(dearest).toEqual(expected);
    const months = await run({
      encoding: { x: { field: "at", timeUnit: "month" }, y: { field: "id" } },
      filter: [{ field: "id", op: "<=", value: 50 }],
    });
    expect(months).toEqual(rows.slice(0, 50).map((r) => ({ at: r.at === null ? null : periodStart(r.at as string, "month"), id: r.id })));
  });

  it("groups by color: sum of qty per year and region", async () => {
    const result = await run({
      encoding: { x: { field: "at", timeUnit: "year" }, y: { field: "qty", aggregate: "sum" }, color: { field: "region" } },
    });
    const expected = [...groups((r) => JSON.stringify([r.at === null ? null : periodStart(r.at as string, "year"), r.region]))]
      .map(([key, members]) => {
        const [at, region] = JSON.parse(key as string) as [Cell, Cell];
        const xs = values(members, "qty");
        return { at, qty: xs.length ? xs.reduce((a, b) => a + b, 0) : null, region };
      })
      .sort((a, b) => compare(a.at, b.at) || compare(a.region, b.region));
    expect(result).toEqual(expected);
    expect(new Set(result.map((r) => r.region)).size).toBe(regions.length + 1);
  });

  it("caps the rows at the limit, default the maximum", async () => {
    expect((await run({ encoding: { x: { field: "id" } } }, { maxLimit: 1_234 })).length).toBe(1_234);
    expect((await run({ encoding: { x: { field: "id" } } })).length).toBe(N);
    expect((await run({ encoding: { x: { field: "qty" }, y: { aggregate: "count" } }, limit: 7 })).map((r) => r.qty)).toEqual([
      0, 1, 2, 3, 4, 5, 6,
    ]);
  });
});

describe("compileSpec: names that could clash with the compiler's own", () => {
  // Columns named like the bin CTE's columns, the internal aliases, SQLite's rowid and an output name.
  const tricky: SpecColumn[] = [
    { name: "step", type: "number" },
    { name: "d", type: "integer" },
    { name: "last", type: "string" },
    { name: "_c0", type: "integer" },
    { name: "rowid", type: "integer" },
    { name: "count", type: "string" },
  ];
  const data = Array.from({ length: 200 }, (_, i) => ({
    step: ((i * 37) % 101) / 4,
    d: i % 9,
    last: ["a", "b", null][i % 3]!,
    _c0: i,
    rowid: 1_000 - i, // the opposite of the table's order
    count: `c${i % 4}`,
  }));
  const store = env.SESSION_ROOMS.get(env.SESSION_ROOMS.idFromName(`spec-test-tricky-${crypto.randomUUID()}`));
  const exec = async (spec: ChartSpec) => {
    const { sql, params } = compileSpec(spec, tricky);
    return runInDurableObject(store, (_instance, ctx) => ctx.storage.sql.exec(sql, ...params).toArray() as Row[]);
  };

  beforeAll(async () => {
    await runInDurableObject(store, (_instance, ctx) => {
      ctx.storage.sql.exec(`CREATE TABLE dataset ("step" REAL, "d" INTEGER, "last" TEXT, "_c0" INTEGER, "rowid" INTEGER, "count" TEXT)`);
      for (const row of data) ctx.storage.sql.exec("INSERT INTO dataset VALUES (?, ?, ?, ?, ?, ?)", ...Object.values(row));
    });
  });

  it("bins, sums and groups them, and keeps the table's order for rows", async () => {
    const result = await exec({
      encoding: { x: { field: "step", bin: { maxbins: 5 } }, y: { field: "d", aggregate: "sum" }, color: { field: "last" } },
      filter: [{ field: "_c0", op: "<", value: 150 }],
    });
    // step runs 0..25: a span of 25 in at most 5 bins is a step of 5, and 25 closes the last bin.
    const expected = new Map<string, Row>();
    for (const row of data.filter((r) => r._c0 < 150)) {
      const bin = Math.min(Math.floor(row.step / 5), 4) * 5;
      const key = JSON.stringify([bin, row.last]);
      const seen = expected.get(key) ?? { step: bin, step_end: bin + 5, d: 0, last: row.last };
      seen.d = (seen.d as number) + row.d;
      expected.set(key, seen);
    }
    const sorted = [...expected.values()].sort((a, b) => (a.step as number) - (b.step as number) || compare(a.last!, b.last!));
    expect(result).toEqual(sorted);
    const counted = await exec({ encoding: { x: { field: "count" }, y: { aggregate: "count" } } });
    expect(counted).toEqual(["c0", "c1", "c2", "c3"].map((c) => ({ count: c, count_count: 50 })));
    const inOrder = await exec({ encoding: { x: { field: "rowid" }, y: { field: "_c0" } }, limit: 3 });
    expect(inOrder).toEqual([
      { rowid: 1_000, _c0: 0 },
      { rowid: 999, _c0: 1 },
      { rowid: 998, _c0: 2 },
    ]);
  });
});

describe("compileSpec: pies, chart encodings and the OpenAPI component", () => {
  it("theta: a pie's slices, count and share per region", async () => {
    const pie: ChartSpec = {
      encoding: { theta: { aggregate: "count" }, color: { field: "region" } },
      sort: { channel: "theta", order: "desc" },
    };
    const compiled = compileSpec(pie, columns);
    expect(compiled.fields).toEqual([
      { name: "region", channel: "color" },
      { name: "count", channel: "theta" },
    ]);
    const result = await run(pie);
    const expected = [...groups((r) => r.region!)]
      .map(([region, members]) => ({ region, count: members.length }))
      .sort((a, b) => b.count - a.count || compare(a.region, b.region));
    expect(result).toEqual(expected);
  });

  it("compiles the spec of a chart as the analysis engines propose it", async () => {
    const chart = ChartPlan.parse({
      type: "bar",
      title: "Mean price by region",
      spec: {
        encoding: { x: { field: "region", type: "nominal" }, y: { field: "price", type: "quantitative", aggregate: "mean" } },
        limit: 500,
      },
    });
    const result = await run(chart.spec);
    expect(result.map((r) => r.region)).toEqual([...regions].sort().concat([null as never]));
  });

  it("is the OpenAPI component ChartSpec, described", () => {
    const app = new OpenAPIHono();
    const route = createRoute({
      method: "post",
      path: "/query",
      request: { body: { content: { "application/json": { schema: z.object({ spec: ChartSpec }) } } } },
      responses: { 204: { description: "nothing" } },
    });
    app.openapi(route, (c) => c.body(null, 204));
    const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    const component = doc.components?.schemas?.ChartSpec as { description?: string; properties?: Record<string, unknown> };
    expect(component.description).toMatch(/one SQL statement/);
    expect(Object.keys(component.properties ?? {}).sort()).toEqual(["encoding", "filter", "limit", "sort"]);
    expect(JSON.stringify(component)).toContain("ISO 8601 week");
  });
});

describe("compileSpec: any spec either compiles to SQL SQLite runs, or is a SpecError", () => {
  // Mostly specs that fit the columns (so the SQL path is exercised), with a share of every kind of mistake.
  const field = fc.oneof(
    { arbitrary: fc.constantFrom(...columns.map((c) => c.name)), weight: 12 },
    { arbitrary: fc.constant("missing"), weight: 1 },
  );
  const numeric = fc.constantFrom("price", "qty", "id");
  const aggregate = fc.oneof(
    {
      arbitrary: fc.record({ field: fc.option(field, { nil: undefined }), aggregate: fc.constantFrom("count", "min", "max", "distinct") }),
      weight: 2,
    },
    { arbitrary: fc.record({ field: fc.oneof(numeric, field), aggregate: fc.constantFrom("sum", "mean", "median") }), weight: 2 },
  );
  const channel = fc.oneof(
    { arbitrary: fc.record({ field }), weight: 3 },
    { arbitrary: aggregate, weight: 4 },
    {
      arbitrary: fc.record({
        field: fc.oneof({ arbitrary: numeric, weight: 5 }, { arbitrary: field, weight: 1 }),
        bin: fc.oneof(
          fc.constant(true),
          fc.record({ maxbins: fc.integer({ min: 0, max: 60 }) }),
          fc.record({ step: fc.constantFrom(0.01, 1, 7.5, 100, 1e6, -1) }),
        ),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        field: fc.oneof({ arbitrary: fc.constant("at"), weight: 5 }, { arbitrary: field, weight: 1 }),
        timeUnit: fc.constantFrom("year", "quarter", "month", "week", "day", "hour"),
      }),
      weight: 2,
    },
    { arbitrary: fc.record({ field, aggregate: fc.constantFrom("max", "sum"), timeUnit: fc.constantFrom("year", "day") }), weight: 1 },
  );
  const scalar = fc.oneof(
    fc.integer({ min: -100, max: 1_000 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom("North", "2023-05-01", "v1", "", "x'y\"z"),
    fc.boolean(),
  );
  const op = fc.constantFrom("=", "!=", "<", "<=", ">", ">=");
  const filter = fc.oneof(
    { arbitrary: fc.record({ field: numeric, op, value: fc.integer({ min: -100, max: 1_000 }) }), weight: 3 },
    {
      arbitrary: fc.record({ field: fc.constant("region"), op: fc.constant("in"), value: fc.subarray(regions, { minLength: 1 }) }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        field: fc.constant("at"),
        op: fc.constant("between"),
        value: fc.constant(["2022-01-01", "2023-06-30T12:00Z"]),
      }),
      weight: 1,
    },
    { arbitrary: fc.record({ field, op: fc.constant("isNull"), value: fc.option(fc.boolean(), { nil: undefined }) }), weight: 1 },
    {
      arbitrary: fc.record({
        field,
        op: fc.constantFrom("=", "!=", "<", "<=", ">", ">=", "in", "between", "isNull"),
        value: fc.option(fc.oneof(scalar, fc.array(scalar, { minLength: 0, maxLength: 3 })), { nil: undefined }),
      }),
      weight: 1,
    },
  );
  const spec = fc.record(
    {
      encoding: fc.record({ x: channel, y: channel, color: channel, theta: channel }, { requiredKeys: [] }),
      filter: fc.array(filter, { maxLength: 3 }),
      sort: fc.oneof(
        fc.record({ channel: fc.constantFrom("x", "y", "color", "theta"), order: fc.constantFrom("asc", "desc") }),
        fc.record({ field: fc.constantFrom("price", "count", "region", "at"), order: fc.constantFrom("asc", "desc") }),
      ),
      limit: fc.oneof(
        { arbitrary: fc.integer({ min: 1, max: 10_000 }), weight: 9 },
        { arbitrary: fc.constantFrom(0, 10_001, 1e9), weight: 1 },
      ),
    },
    { requiredKeys: ["encoding"] },
  );

  it("never throws anything else, and what compiles runs", async () => {
    let compiled = 0;
    await fc.assert(
      fc.asyncProperty(spec, async (candidate) => {
        let statement: ReturnType<typeof compileSpec>;
        try {
          statement = compileSpec(candidate as ChartSpec, columns);
        } catch (error) {
          expect(error).toBeInstanceOf(SpecError);
          return;
        }
        compiled++;
        const result = await runInDurableObject(stub, (_instance, ctx) =>
          ctx.storage.sql.exec(statement.sql, ...statement.params).toArray(),
        );
        expect(result.length).toBeLessThanOrEqual((candidate as ChartSpec).limit ?? 10_000);
        if (result.length > 0) expect(Object.keys(result[0]!)).toEqual(statement.fields.map((f) => f.name));
      }),
      { numRuns: 300, seed: 42 },
    );
    expect(compiled).toBeGreaterThan(20); // the generator reaches the compiler's happy path, not only its errors
  });
});

describe("compileSpec: time units on other ISO-8601 spellings", () => {
  // The store writes `…T08:30:00.000Z`; a date alone or a time without milliseconds must land in the same periods.
  const store = env.SESSION_ROOMS.get(env.SESSION_ROOMS.idFromName(`spec-test-dates-${crypto.randomUUID()}`));
  const spellings = ["2024-05-17", "2024-05-17T08:30:00Z", "2024-05-17T08:30:00.000Z", null];

  it("gives each the start of its period", async () => {
    await runInDurableObject(store, (_instance, ctx) => {
      ctx.storage.sql.exec(`CREATE TABLE dataset ("when" TEXT)`);
      for (const value of spellings) ctx.storage.sql.exec("INSERT INTO dataset VALUES (?)", value);
    });
    const expected = {
      year: "2024-01-01T00:00:00.000Z",
      quarter: "2024-04-01T00:00:00.000Z",
      month: "2024-05-01T00:00:00.000Z",
      week: "2024-05-13T00:00:00.000Z",
      day: "2024-05-17T00:00:00.000Z",
    };
    for (const [unit, start] of Object.entries(expected)) {
      const { sql, params } = compileSpec({ encoding: { x: { field: "when", timeUnit: unit as "year" } } }, [
        { name: "when", type: "datetime" },
      ]);
      const result = await runInDurableObject(store, (_instance, ctx) => ctx.storage.sql.exec(sql, ...params).toArray());
      expect(result, unit).toEqual([start, start, start, null].map((when) => ({ when })));
    }
    const { sql, params } = compileSpec({ encoding: { x: { field: "when", timeUnit: "hour" } } }, [{ name: "when", type: "datetime" }]);
    const hours = await runInDurableObject(store, (_instance, ctx) => ctx.storage.sql.exec(sql, ...params).toArray());
    expect(hours).toEqual(
      ["2024-05-17T00:00:00.000Z", "2024-05-17T08:00:00.000Z", "2024-05-17T08:00:00.000Z", null].map((when) => ({ when })),
    );
  });
});
