// What a data-source query may be, decided on PostgreSQL's parse tree: the attacks that passed the old text check are refused.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../src/lib/problem.ts";
import { readableStatement } from "../../../src/services/data-sources/sql-policy.ts";

const refusal = async (sql: string) => {
  const error = await readableStatement(sql).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, sql).toBeInstanceOf(ApiError);
  return (error as ApiError).code;
};

describe("readableStatement", () => {
  it.each([
    ["a non-ASCII dollar-quote tag hiding a COMMIT and an INSERT", "SELECT $é$ ' $é$; COMMIT; INSERT INTO t VALUES (1)"],
    ["an identifier ending in a dollar-quote-like tag", "SELECT 1 AS é$x$; COMMIT; DELETE FROM t"],
    ["two plain statements", "SELECT 1; SELECT 2"],
  ])("refuses %s as several statements", async (_, sql) => {
    expect(await refusal(sql)).toBe("QUERY_FAILED");
  });

  it.each([
    ["set_config", "SELECT set_config('statement_timeout', '0', true)"],
    ["set_config, schema-qualified and upper-case", "SELECT PG_CATALOG.SET_CONFIG('statement_timeout', '0', true), pg_sleep(10)"],
    ["set_config in a subquery", "SELECT * FROM (SELECT set_config('statement_timeout', '0', true)) s"],
    ["SET", "SET statement_timeout = 0"],
    ["SET LOCAL", "SET LOCAL statement_timeout = 0"],
    ["RESET", "RESET ALL"],
    ["BEGIN", "BEGIN"],
    ["COMMIT", "COMMIT"],
    ["ROLLBACK", "ROLLBACK"],
    ["SAVEPOINT", "SAVEPOINT s"],
    ["COPY out", "COPY (SELECT 1) TO STDOUT"],
    ["COPY from a program", "COPY t FROM PROGRAM 'id'"],
    ["LISTEN", "LISTEN jobs"],
    ["NOTIFY", "NOTIFY jobs, 'x'"],
    ["pg_notify", "SELECT pg_notify('jobs', 'x')"],
    ["an advisory lock", "SELECT pg_advisory_lock(1)"],
    ["a transaction advisory lock", "SELECT pg_try_advisory_xact_lock(1)"],
    ["pg_terminate_backend", "SELECT pg_terminate_backend(pg_backend_pid())"],
    ["pg_cancel_backend", "SELECT pg_cancel_backend(1)"],
    ["pg_reload_conf", "SELECT pg_reload_conf()"],
    ["SQL given as text (query_to_xml)", "SELECT query_to_xml('SELECT set_config(''statement_timeout'', ''0'', true)', true, false, '')"],
    ["SQL given as text (ts_stat)", "SELECT * FROM ts_stat('SELECT 1')"],
    ["a server file read", "SELECT pg_read_file('/etc/passwd')"],
    ["a large-object import", "SELECT lo_import('/etc/passwd')"],
    ["DO", "DO $$ BEGIN PERFORM 1; END $$"],
    ["a refused call inside EXPLAIN ANALYZE", "EXPLAIN ANALYZE SELECT pg_advisory_lock(1)"],
    ["LOCK", "LOCK TABLE t"],
    ["DECLARE", "DECLARE c CURSOR FOR SELECT 1"],
  ])("refuses %s before sending (QUERY_NOT_ALLOWED)", async (_, sql) => {
    expect(await refusal(sql)).toBe("QUERY_NOT_ALLOWED");
  });

  it.each([
    ["UPDATE", "UPDATE t SET a = 1"],
    ["a data-modifying WITH", "WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone"],
    ["EXPLAIN ANALYZE of a DELETE", "EXPLAIN ANALYZE DELETE FROM t"],
    ["SELECT INTO", "SELECT * INTO copy FROM t"],
    ["nextval", "SELECT nextval('s')"],
    ["CREATE TABLE", "CREATE TABLE x (a int)"],
    ["a MERGE in a CTE", "WITH m AS (SELECT 1) MERGE INTO t USING m ON true WHEN MATCHED THEN DELETE"],
  ])("refuses %s as a write (QUERY_NOT_READ_ONLY)", async (_, sql) => {
    expect(await refusal(sql)).toBe("QUERY_NOT_READ_ONLY");
  });

  it("reports a syntax error with Postgres's message", async () => {
    await expect(readableStatement("SELEC 1")).rejects.toMatchObject({
      code: "QUERY_FAILED",
      detail: expect.stringContaining("syntax error"),
    });
  });

  it("passes one reading statement, with its own text and whether a cursor can hold it", async () => {
    expect(await readableStatement("  SELECT ';' AS \"a;b\", $é$;$é$ AS c -- ;\n ;")).toEqual({
      text: "SELECT ';' AS \"a;b\", $é$;$é$ AS c -- ;",
      cursor: true,
    });
    expect(await readableStatement("WITH x AS (SELECT 1) SELECT * FROM x")).toMatchObject({ cursor: true });
    expect(await readableStatement("VALUES (1), (2)")).toMatchObject({ cursor: true });
    expect(await readableStatement("TABLE t")).toMatchObject({ cursor: true });
    expect(await readableStatement("SHOW transaction_read_only;")).toEqual({ text: "SHOW transaction_read_only", cursor: false });
    expect(await readableStatement("EXPLAIN (FORMAT JSON) SELECT current_setting('statement_timeout')")).toMatchObject({ cursor: false });
    expect(await readableStatement("SELECT pg_sleep(0.01), current_setting('x', true)")).toMatchObject({ cursor: true });
  });
});
