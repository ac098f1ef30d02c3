// libpg_query inside workerd: PostgreSQL's parser, loaded from the bundled WebAssembly module.
import { describe, expect, it } from "vitest";
import { parseSql } from "../../../src/services/data-sources/sql-grammar.ts";

describe("parseSql", () => {
  it("parses statements as Postgres does, non-ASCII dollar-quote tags included", async () => {
    const result = await parseSql("SELECT $é$ ' $é$; COMMIT; INSERT INTO t VALUES (1)");
    expect("statements" in result && result.statements.map((s) => Object.keys(s.stmt ?? {})[0])).toEqual([
      "SelectStmt",
      "TransactionStmt",
      "InsertStmt",
    ]);
  });

  it("reports a syntax error with its position", async () => {
    const result = await parseSql("SELECT FROM WHERE");
    expect("error" in result && result.error.message).toContain("syntax error");
  });
});
