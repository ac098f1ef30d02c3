// savedResult (unit, in workerd): what of a tool's result is kept with the chat message.
import { describe, expect, it } from "vitest";
import { SAVED_RESULT_CHARS, SAVED_RESULT_ROWS, savedResult } from "../../../src/services/chat/grounding.ts";

const columns = [{ name: "v", type: "string" as const }];

describe("savedResult (unit)", () => {
  it("keeps a small result whole", () => {
    const rows = [["a"], ["b"]];
    expect(savedResult({ columns, rows, rowCount: 2, truncated: false })).toEqual({ columns, rows, rowCount: 2, truncated: false });
  });

  it("keeps the first 200 rows and says it cut", () => {
    const rows = Array.from({ length: 450 }, (_, i) => [`r${i}`]);
    const saved = savedResult({ columns, rows, rowCount: 450, truncated: false });
    expect(SAVED_RESULT_ROWS).toBe(200);
    expect(saved.rows).toEqual(rows.slice(0, 200));
    expect(saved).toMatchObject({ rowCount: 450, truncated: true });
  });

  it("keeps only the rows that fit 256 KiB of JSON when cells are wide", () => {
    const rows = Array.from({ length: 100 }, (_, i) => [`${i}`.padEnd(10_000, "w")]);
    const saved = savedResult({ columns, rows, rowCount: 100, truncated: false });
    // Each row is 10,004 characters of JSON (with its comma): 26 fit in 262,144 after the brackets.
    expect(saved.rows).toEqual(rows.slice(0, Math.floor((SAVED_RESULT_CHARS - 2) / 10_005)));
    expect(JSON.stringify(saved.rows).length).toBeLessThanOrEqual(SAVED_RESULT_CHARS);
    expect(saved.truncated).toBe(true);
  });
});
