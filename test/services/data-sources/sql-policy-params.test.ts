// The parse-tree checks the query workbench added: EXPLAIN ANALYZE refused however it is written, and $n counted.
import { describe, expect, it } from "vitest";
import { readableStatement } from "../../../src/services/data-sources/sql-policy.ts";

describe("readableStatement, for EXPLAIN and bind parameters", () => {
  it.each([
    ["EXPLAIN ANALYZE", "EXPLAIN ANALYZE SELECT 1"],
    ["EXPLAIN (ANALYZE)", "EXPLAIN (ANALYZE, FORMAT JSON) SELECT 1"],
    ["EXPLAIN (analyze off)", "EXPLAIN (analyze off) SELECT 1"],
    ["EXPLAIN (Analyse) in British spelling", "EXPLAIN (ANALYSE) SELECT 1"],
  ])("refuses %s (QUERY_NOT_ALLOWED)", async (_, sql) => {
    await expect(readableStatement(sql)).rejects.toMatchObject({ code: "QUERY_NOT_ALLOWED" });
  });

  it("still calls EXPLAIN ANALYZE of a write a write, and passes a plain EXPLAIN", async () => {
    await expect(readableStatement("EXPLAIN ANALYZE UPDATE t SET a = 1")).rejects.toMatchObject({ code: "QUERY_NOT_READ_ONLY" });
    expect(await readableStatement("EXPLAIN (COSTS false) SELECT 1")).toMatchObject({ cursor: false });
  });

  it("wants exactly the parameters the statement refers to, wherever they stand", async () => {
    expect(await readableStatement("SELECT $1::int, (SELECT $3) FROM (VALUES ($2)) v", 3)).toMatchObject({ cursor: true });
    expect(await readableStatement("SELECT '$1', $x$ $2 $x$", 0)).toMatchObject({ cursor: true });
    await expect(readableStatement("SELECT $2", 1)).rejects.toMatchObject({
      status: 400,
      code: "VALIDATION_FAILED",
      errors: [{ path: "body.params", message: "expected 2 parameters" }],
    });
    await expect(readableStatement("SELECT 1", 2)).rejects.toMatchObject({ status: 400, code: "VALIDATION_FAILED" });
    await expect(readableStatement("SELECT $1")).rejects.toMatchObject({ status: 400 });
  });
});
