// How a stored cell becomes a Parquet value and a CSV cell: the profiler's nulls, types, and the edges of each.
import { describe, expect, it } from "vitest";
import { converter, isNullText, parquetKind } from "../../../src/services/downloads/cells.ts";
import { csvCell } from "../../../src/services/downloads/csv.ts";
import { Profiler } from "../../../src/services/datasets/profile/profiler.ts";

describe("nulls", () => {
  it("are the spellings the profiler counts as nulls, and only those", () => {
    const cells = ["", " ", "NA", "n/a", "NaN", "null", "None", " na ", "nil", " null ", "0", "N/A."];
    const profile = new Profiler(["x"]);
    for (const cell of cells) profile.add([cell]);
    expect(cells.filter(isNullText)).toHaveLength(profile.result().columns[0]!.nulls);
    expect(cells.filter(isNullText)).toEqual(["", " ", "NA", "n/a", "NaN", "null", "None", " na "]);
  });

  it("never come from a JSON number or boolean", () => {
    expect(converter("DOUBLE")(0)).toBe(0);
    expect(converter("BOOLEAN")(false)).toBe(false);
    expect(converter("STRING")(null)).toBeNull();
    expect(converter("STRING")(undefined)).toBeNull();
  });
});

describe("types", () => {
  it("keeps integers exact past 2^53 and falls back to DOUBLE past INT64", () => {
    expect(converter("INT64")("9007199254740993")).toBe(9007199254740993n);
    expect(converter("INT64")(-42)).toBe(-42n);
    expect(parquetKind({ type: "integer", min: -5, max: 2 ** 62 })).toBe("INT64");
    expect(parquetKind({ type: "integer", min: 0, max: 1e20 })).toBe("DOUBLE");
  });

  it("reads booleans in any case and instants as UTC, a time without a zone included", () => {
    expect(["TRUE", " false", "True"].map(converter("BOOLEAN"))).toEqual([true, false, true]);
    const at = converter("TIMESTAMP");
    expect(at("2026-03-04 05:06:07")).toEqual(new Date(Date.UTC(2026, 2, 4, 5, 6, 7)));
    expect(at("2026-03-04")).toEqual(new Date(Date.UTC(2026, 2, 4)));
    expect(at("2026-03-04T05:06:07+02:00")).toEqual(new Date(Date.UTC(2026, 2, 4, 3, 6, 7)));
  });

  it("refuses a cell its column's type cannot hold, rather than writing something else", () => {
    expect(() => converter("INT64")("1.5")).toThrow(/INT64/);
    expect(() => converter("DOUBLE")("abc")).toThrow(/DOUBLE/);
    expect(() => converter("BOOLEAN")("yes")).toThrow(/BOOLEAN/);
    expect(() => converter("TIMESTAMP")("soon")).toThrow(/TIMESTAMP/);
  });

  it("writes objects in a text column as their JSON", () => {
    expect(converter("STRING")({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(converter("STRING")(12.5)).toBe("12.5");
  });
});

describe("CSV cells", () => {
  it("quotes what a reader would split or trim, and nothing else", () => {
    expect(["plain", "a,b", 'say "hi"', "two\nlines", " padded", null, 3, true, { k: 1 }].map(csvCell)).toEqual([
      "plain",
      '"a,b"',
      '"say ""hi"""',
      '"two\nlines"',
      '" padded"',
      "",
      "3",
      "true",
      '"{""k"":1}"',
    ]);
  });
});
