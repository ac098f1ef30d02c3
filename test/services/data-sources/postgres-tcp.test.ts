// The TCP transport on its own (postgres-tcp.ts), below the SQL policy: what the database and the protocol refuse even
// when the grammar check is not asked, and the deadline that cancels a statement on the server. Needs a real Postgres.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePostgresUrl } from "../../../src/services/data-sources/network.ts";
import { openPool, type Pool, readOnlyTcp } from "../../../src/services/data-sources/postgres-tcp.ts";
import { ApiError } from "../../../src/lib/problem.ts";
import { eventually } from "../../support/eventually.ts";
import { tcpPostgres, throwawayDatabase, type Throwaway } from "../../support/postgres-tcp.ts";

let db: Throwaway;
let pool: Pool;
const applicationName = `datacrafted-transport-${crypto.randomUUID().slice(0, 8)}`;
const deadline = { statementTimeoutMs: 5_000, deadlineMs: 6_000 };

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as ApiError,
  );
const balances = async () => (await db.sql`SELECT sum(balance)::int AS total, count(*)::int AS n FROM accounts`)[0];

describe.runIf(tcpPostgres())("the TCP transport", () => {
  beforeAll(async () => {
    db = await throwawayDatabase("transport");
    await db.sql.unsafe("CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts VALUES (1, 10), (2, 20)");
    pool = openPool(parsePostgresUrl(db.url(), "url"), { size: 2, defaultSslmode: "disable", applicationName, connectTimeoutMs: 5_000 });
  });

  afterAll(async () => {
    await pool?.end({ timeout: 1 });
    await db?.drop();
  });

  it("answers values as Postgres' text with their type OIDs", async () => {
    const [result] = await readOnlyTcp(pool, [{ text: "SELECT $1::int + 1 AS n, 'x'::text AS t, NULL AS z", params: [41] }], deadline);
    expect(result).toEqual({
      fields: [
        { name: "n", dataTypeID: 23 },
        { name: "t", dataTypeID: 25 },
        { name: "z", dataTypeID: 25 },
      ],
      rows: [["42", "x", null]],
    });
  });

  it("sends each statement alone through the extended protocol: a second command is refused by the server", async () => {
    const error = await failure(readOnlyTcp(pool, [{ text: "SELECT 1; DELETE FROM accounts", params: [] }], deadline));
    expect(error).toBeInstanceOf(ApiError);
    expect(error?.detail).toMatch(/cannot insert multiple commands into a prepared statement/);
    expect(await balances()).toEqual({ total: 30, n: 2 });
  });

  it("runs inside BEGIN READ ONLY: a write the grammar check never saw is refused by the database", async () => {
    for (const text of ["DELETE FROM accounts", "UPDATE accounts SET balance = 0", "CREATE TABLE stolen (x int)"]) {
      const error = await failure(readOnlyTcp(pool, [{ text, params: [] }], deadline));
      expect(error?.code).toBe("QUERY_NOT_READ_ONLY");
    }
    expect(await balances()).toEqual({ total: 30, n: 2 });
  });

  it("cancels the statement on the server at the deadline, and the backend is idle afterwards", async () => {
    const marker = `transport-cancel-${crypto.randomUUID()}`;
    // A statement timeout far beyond the deadline: only the cancel request can stop it.
    const started = Date.now();
    const error = await failure(
      readOnlyTcp(pool, [{ text: `SELECT pg_sleep(60), '${marker}'`, params: [] }], { statementTimeoutMs: 60_000, deadlineMs: 500 }),
    );
    expect(error?.code).toBe("DATA_SOURCE_TIMEOUT");
    expect(Date.now() - started).toBeLessThan(30_000);
    const running = await eventually(
      async () =>
        (
          await db.sql`SELECT pid FROM pg_stat_activity WHERE application_name = ${applicationName} AND state = 'active' AND query LIKE ${`%${marker}%`}`
        ).length,
      (n) => n === 0,
    );
    expect(running).toBe(0);
    // The connection goes back to the pool in working order.
    const [result] = await readOnlyTcp(pool, [{ text: "SELECT 1 AS one", params: [] }], deadline);
    expect(result?.rows).toEqual([["1"]]);
  });

  it("names a refused connection as the source being unreachable", async () => {
    const dead = openPool(parsePostgresUrl("postgres://postgres@127.0.0.1:1/postgres", "url"), {
      size: 1,
      defaultSslmode: "disable",
      applicationName,
      connectTimeoutMs: 2_000,
    });
    const error = await failure(readOnlyTcp(dead, [{ text: "SELECT 1", params: [] }], deadline));
    expect(error?.code).toBe("DATA_SOURCE_UNREACHABLE");
    await dead.end({ timeout: 1 });
  });
});
