// Type overrides' cell readers, called directly: date formats (day-first, single digits, times, impossible dates), the
// numeric, boolean and text readings, unfit values counted with examples, and the formats refused.
import { describe, expect, it } from "vitest";
import { Coercer, coercersFor, compileFormat, mergeOverrides, overrideProblem } from "../../../src/services/datasets/type-overrides.ts";

describe("compileFormat", () => {
  it("reads day-first dates, single digits and times as UTC, and refuses dates that do not exist", () => {
    const dmy = compileFormat("DD/MM/YYYY");
    expect(dmy.parse("31/12/2024")).toBe(Date.UTC(2024, 11, 31));
    expect(dmy.parse("31/02/2024")).toBeNull();
    expect(dmy.parse("1/2/2024")).toBeNull();
    expect(compileFormat("D/M/YYYY").parse("1/2/2024")).toBe(Date.UTC(2024, 1, 1));
    expect(compileFormat("YYYY.MM.DD HH:mm").parse("2025.06.15 23:59")).toBe(Date.UTC(2025, 5, 15, 23, 59));
    expect(compileFormat("YYYY.MM.DD HH:mm").parse("2025.06.15 24:00")).toBeNull();
  });

  it("refuses a letter that is no token, a field twice, or no day", () => {
    expect(() => compileFormat("DD/QQ/YYYY")).toThrow(/not a date token/);
    expect(() => compileFormat("DD/MM/YYYY DD")).toThrow(/twice/);
    expect(() => compileFormat("MM/YYYY")).toThrow(/no day/);
    expect(overrideProblem({ column: "a", type: "integer", format: "YYYY" })).toMatch(/applies to date/);
    expect(overrideProblem({ column: "a", type: "date", format: "DD.MM.YYYY" })).toBeNull();
  });
});

describe("Coercer", () => {
  it("reads each type, keeps nulls null, and counts what does not fit with its first examples", () => {
    const integer = new Coercer({ column: "n", type: "integer" });
    expect(["3", " 4 ", "3.0", "3.5", "x", "", "NA", 7].map((cell) => integer.coerce(cell))).toEqual([3, 4, 3, null, null, null, null, 7]);
    expect(integer.summary()).toEqual({ type: "integer", format: null, unfit: 2, examples: ["3.5", "x"] });
    const text = new Coercer({ column: "zip", type: "text" });
    expect(["02134", 12, true, null].map((cell) => text.coerce(cell))).toEqual(["02134", "12", "true", null]);
    const boolean = new Coercer({ column: "b", type: "boolean" });
    expect(["Yes", "no", "T", "0", "maybe"].map((cell) => boolean.coerce(cell))).toEqual([true, false, true, false, null]);
    const day = new Coercer({ column: "d", type: "date", format: "DD/MM/YYYY" });
    expect(["31/12/2024", "2024-12-31"].map((cell) => day.coerce(cell))).toEqual(["2024-12-31", null]);
    const instant = new Coercer({ column: "t", type: "datetime" });
    expect(instant.coerce("2024-12-31 10:00")).toBe("2024-12-31T10:00:00.000Z");
  });

  it("maps overrides to columns by name and merges changes (auto removes one)", () => {
    expect(coercersFor(["a", "b"], [{ column: "c", type: "text" }])).toBeNull();
    expect(coercersFor(["a", "b"], [{ column: "b", type: "text" }])?.map(Boolean)).toEqual([false, true]);
    expect(
      mergeOverrides(
        [
          { column: "a", type: "text" },
          { column: "b", type: "number" },
        ],
        [
          { column: "a", type: "auto" },
          { column: "b", type: "integer" },
        ],
      ),
    ).toEqual([{ column: "b", type: "integer" }]);
  });
});
