// modelViewOfResult (unit, in workerd): what a tool result shows the model under each llmDataPolicy.
import { describe, expect, it } from "vitest";
import { modelViewOfResult } from "../../../src/services/llm/data-policy.ts";

/** 250 rows of a distinctive label and amount: the counts below are the policy's documented row limits. */
const result = {
  columns: [
    { name: "label", type: "string" as const },
    { name: "amount", type: "number" as const },
  ],
  rows: Array.from({ length: 250 }, (_, i) => [`label-${i}-qx`, 1_000.25 + i]),
  rowCount: 250,
  truncated: false,
};
const sql = "SELECT label, amount FROM dataset";

describe("modelViewOfResult (unit)", () => {
  it("gives the shape and no value under schema", () => {
    const view = JSON.parse(modelViewOfResult("schema", sql, result)) as Record<string, unknown>;
    expect(Object.keys(view).sort()).toEqual(["columns", "note", "rowCount", "sql", "truncated"]);
    expect(view).toMatchObject({ sql, columns: result.columns, rowCount: 250, truncated: false });
    const text = JSON.stringify(view);
    expect(result.rows.some(([label, amount]) => text.includes(String(label)) || text.includes(String(amount)))).toBe(false);
  });

  it("gives 50 rows under sample and 200 under full, in order", () => {
    const sample = JSON.parse(modelViewOfResult("sample", sql, result)) as { rows: unknown[][]; rowsShown: number; rowCount: number };
    expect(sample.rows).toEqual(result.rows.slice(0, 50));
    expect(sample).toMatchObject({ rowsShown: 50, rowCount: 250 });
    const full = JSON.parse(modelViewOfResult("full", sql, result)) as { rows: unknown[][]; rowsShown: number };
    expect(full.rows).toEqual(result.rows.slice(0, 200));
    expect(full.rowsShown).toBe(200);
  });

  it("drops rows until the message fits about 16 KB, down to none for a single huge row", () => {
    const wide = { ...result, rows: result.rows.map(([label, amount]) => [`${label}${"x".repeat(500)}`, amount]) };
    const view = modelViewOfResult("full", sql, wide);
    expect(view.length).toBeLessThanOrEqual(16_000);
    const parsed = JSON.parse(view) as { rows: unknown[][]; rowsShown: number };
    expect(parsed.rows.length).toBe(parsed.rowsShown);
    expect(parsed.rows.length).toBeGreaterThan(0);
    expect(parsed.rows).toEqual(wide.rows.slice(0, parsed.rows.length));
    const huge = { ...result, rows: [["y".repeat(20_000), 1]], rowCount: 1 };
    expect(JSON.parse(modelViewOfResult("sample", sql, huge))).toMatchObject({ rows: [], rowsShown: 0, rowCount: 1 });
  });
});
