// Postgres data sources on the tcp transport, through the Worker against the machine's real Postgres (no gateway): the
// read-only guarantee as the database enforces it, timeouts that leave no backend running, the pool, the breaker, and the
// source's health and metrics. Needs a real Postgres (REQUIRE_REAL_SERVICES=1), in a throwaway database of this file's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { createSource, postgresBody, type Source } from "../../support/data-sources.ts";
import { eventually } from "../../support/eventually.ts";
import { expectProblem } from "../../support/problem.ts";
import { postgresProxy, tcpPostgres, throwawayDatabase, type Throwaway } from "../../support/postgres-tcp.ts";

interface Page {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  nextOffset: number | null;
}

interface Metrics {
  calls: number;
  outcomes: Record<string, number>;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  breaker: { state: string; failures: number };
  pool: { size: number; inUse: number; waiting: number; maxConcurrent: number };
}

let db: Throwaway;
let owner: Person;
let slug: string;
let source: Source;
let base: string;

const tcpBody = (overrides: Record<string, unknown> = {}) => ({
  kind: "postgres",
  name: `pg-tcp-${crypto.randomUUID().slice(0, 8)}`,
  connectionString: db.url(),
  ...overrides,
});

const query = (body: Record<string, unknown>, who: Person = owner, at = base) =>
  call(`${at}/query`, { method: "POST", token: who.token, body });

/** The seeded table as the test's own connection reads it. */
const seeded = async () => (await db.sql`SELECT id, owner, balance FROM accounts ORDER BY id`).map((row) => ({ ...row }));
const seed = [
  { id: 1, owner: "ada", balance: 100 },
  { id: 2, owner: "grace", balance: 250 },
  { id: 3, owner: "edsger", balance: 75 },
];

/** The source's sessions on the server, by the application_name its pool sets. */
const backendsOf = async (id: string, where = "") =>
  (
    await db.sql.unsafe(`SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid() ${where}`, [
      `datacrafted ${id}`,
    ])
  ).map((row) => ({ pid: row.pid as number, state: row.state as string, query: row.query as string }));

describe.runIf(tcpPostgres())("a Postgres source over TCP", () => {
  beforeAll(async () => {
    db = await throwawayDatabase("tcp");
    await db.sql.unsafe(`
      CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance int NOT NULL);
      INSERT INTO accounts VALUES (1, 'ada', 100), (2, 'grace', 250), (3, 'edsger', 75);
      CREATE SEQUENCE ticket;
      CREATE FUNCTION drain() RETURNS int LANGUAGE sql VOLATILE AS $$ UPDATE accounts SET balance = 0 RETURNING 1 $$;
      CREATE FUNCTION lift() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT set_config('statement_timeout', '0', true) $$;
    `);
    owner = await person("pg-tcp");
    slug = await team(owner);
    source = await createSource(owner, slug, tcpBody());
    base = `/api/v1/orgs/${slug}/data-sources/${source.id}`;
  });

  afterAll(async () => {
    await postgresProxy("start");
    await db?.drop();
  });

  describe("registration", () => {
    it("is tcp by default, neon-http with an endpoint, and refuses an endpoint on tcp", async () => {
      expect(source.connection).toMatchObject({ transport: "tcp", host: "127.0.0.1", database: db.name, endpoint: null });
      const http = await createSource(owner, slug, postgresBody());
      expect(http.connection.transport).toBe("neon-http");
      const both = await call(`/api/v1/orgs/${slug}/data-sources`, {
        method: "POST",
        token: owner.token,
        body: postgresBody({ transport: "tcp" }),
      });
      const problem = await expectProblem(both, 400, "VALIDATION_FAILED");
      expect(problem.errors).toEqual([{ path: "body.endpoint", message: 'only for transport "neon-http"' }]);
    });

    it("answers …/test with the server and the role's powers", async () => {
      const result = await json<{
        serverVersion: string;
        details: Record<string, string>;
        role: Record<string, boolean>;
        warnings: string[];
      }>(await call(`${base}/test`, { method: "POST", token: owner.token }), 200);
      expect(result.serverVersion).toMatch(/^\d+/);
      expect(result.details).toMatchObject({ database: db.name, user: "postgres" });
      // The machine's postgres role is a superuser: the answer says so, loudly.
      expect(result.role.superuser).toBe(true);
      expect(result.warnings[0]).toMatch(/superuser/);
    });
  });

  describe("queries", () => {
    it("answers typed rows and pages through a cursor", async () => {
      const page = await json<Page>(await query({ sql: "SELECT id, owner FROM accounts ORDER BY id", limit: 2 }), 200);
      expect(page.columns).toEqual([
        { name: "id", type: "integer" },
        { name: "owner", type: "text" },
      ]);
      expect(page.rows).toEqual([
        [1, "ada"],
        [2, "grace"],
      ]);
      expect(page.nextOffset).toBe(2);
      const next = await json<Page>(await query({ sql: "SELECT id, owner FROM accounts ORDER BY id", offset: 2, limit: 2 }), 200);
      expect(next.rows).toEqual([[3, "edsger"]]);
      expect(next.nextOffset).toBeNull();
    });

    it("reports bad SQL as 422 QUERY_FAILED with Postgres' message", async () => {
      const problem = await expectProblem(await query({ sql: "SELECT * FROM no_such_table" }), 422, "QUERY_FAILED");
      expect(problem.detail).toMatch(/no_such_table/);
    });
  });

  describe("the attacks of issue 18, over TCP", () => {
    it.each([
      ["a non-ASCII dollar-quote tag hiding COMMIT; INSERT", "SELECT $é$ ' $é$; COMMIT; INSERT INTO accounts VALUES (9, 'x', 1)"],
      ["an identifier ending in a dollar-quote-like tag", "SELECT 1 AS é$x$; COMMIT; DELETE FROM accounts"],
      ["set_config lifting the timeout", "SELECT set_config('statement_timeout', '0', false)"],
      ["pg_terminate_backend", "SELECT pg_terminate_backend(pg_backend_pid())"],
      ["an advisory lock", "SELECT pg_advisory_lock(42)"],
      ["a transaction-level advisory lock", "SELECT pg_try_advisory_xact_lock(42)"],
      ["pg_notify", "SELECT pg_notify('datacrafted', 'x')"],
      ["a data-modifying CTE", "WITH gone AS (DELETE FROM accounts RETURNING *) SELECT count(*) FROM gone"],
      ["EXPLAIN ANALYZE of a write", "EXPLAIN ANALYZE UPDATE accounts SET balance = 0"],
      ["a function that writes", "SELECT drain()"],
      ["a sequence bump", "SELECT nextval('ticket')"],
      ["COPY", "COPY accounts TO STDOUT"],
      ["COPY FROM", "COPY accounts FROM STDIN"],
      ["transaction control", "COMMIT"],
      ["ROLLBACK then a write", "ROLLBACK; DELETE FROM accounts"],
      ["SET of the transaction's mode", "SET transaction_read_only = off"],
      ["a row lock", "SELECT * FROM accounts FOR UPDATE"],
      ["SELECT INTO", "SELECT * INTO stolen FROM accounts"],
    ])("refuses %s (422) and the table is unchanged", async (_, text) => {
      const response = await query({ sql: text });
      expect(response.status).toBe(422);
      const body = (await response.json()) as { code: string };
      expect(["QUERY_FAILED", "QUERY_NOT_ALLOWED", "QUERY_NOT_READ_ONLY"]).toContain(body.code);
      expect(await seeded()).toEqual(seed);
    });

    it("leaves no advisory lock, listener or created table behind", async () => {
      const [locks] =
        await db.sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
      const [tables] = await db.sql`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'stolen'`;
      const [ticket] = await db.sql`SELECT last_value::int AS n, is_called FROM ticket`;
      expect({ locks: locks!.n, tables: tables!.n, ticket: ticket!.is_called }).toEqual({ locks: 0, tables: 0, ticket: false });
    });

    it("stops a query at the statement timeout, and no backend keeps running it", async () => {
      const marker = `ds-tcp-timeout-${crypto.randomUUID()}`;
      await expectProblem(await query({ sql: `SELECT pg_sleep(30), '${marker}'` }), 422, "QUERY_TIMEOUT");
      const running = await eventually(
        () => backendsOf(source.id, `AND state = 'active' AND query LIKE '%${marker}%'`),
        (rows) => rows.length === 0,
      );
      expect(running).toEqual([]);
    });

    it("keeps the timeout when the query's own function lifts it between statements", async () => {
      const marker = `ds-tcp-lift-${crypto.randomUUID()}`;
      // MOVE runs lift() on the first row; FETCH would then sleep a minute, but the timeout is set again before it.
      const text = `SELECT lift(), pg_sleep(2), '${marker}' FROM generate_series(1, 30)`;
      await expectProblem(await query({ sql: text, offset: 1, limit: 10 }), 422, "QUERY_TIMEOUT");
      const running = await eventually(
        () => backendsOf(source.id, `AND state = 'active' AND query LIKE '%${marker}%'`),
        (rows) => rows.length === 0,
      );
      expect(running).toEqual([]);
    });
  });

  describe("the connection pool", () => {
    it("reuses its warm connections: ten calls, no more backends than the pool's size", async () => {
      const pooled = await createSource(owner, slug, tcpBody());
      const at = `/api/v1/orgs/${slug}/data-sources/${pooled.id}`;
      const pids = new Set<unknown>();
      for (let i = 0; i < 10; i++) {
        const page = await json<Page>(await query({ sql: "SELECT pg_backend_pid() AS pid" }, owner, at), 200);
        pids.add(page.rows[0]![0]);
      }
      const metrics = await json<Metrics>(await call(`${at}/metrics`, { token: owner.token }), 200);
      const backends = await backendsOf(pooled.id);
      // Sequential calls find an idle connection every time after the first.
      expect(pids.size).toBe(1);
      expect(backends.map((row) => row.pid)).toEqual([...pids]);
      expect(backends.length).toBeLessThanOrEqual(metrics.pool.size);
      expect(metrics).toMatchObject({ calls: 10, outcomes: { ok: 10 }, breaker: { state: "closed" } });
      expect(metrics.latencyMs.p50).toEqual(expect.any(Number));
    });
  });

  describe("the breaker", () => {
    it("opens when the source is down, says so in health, and closes once it answers again", async () => {
      const behindProxy = await createSource(owner, slug, tcpBody({ connectionString: db.url(tcpPostgres()!.proxyPort) }));
      const at = `/api/v1/orgs/${slug}/data-sources/${behindProxy.id}`;
      await json<Page>(await query({ sql: "SELECT 1 AS one" }, owner, at), 200);
      expect((await json<{ status: string }>(await call(`${at}/health`, { token: owner.token }), 200)).status).toBe("up");
      await postgresProxy("stop");
      try {
        // Each call finds the source down: refused at once, or (on a loaded machine) still connecting at its deadline.
        // Both are outages, and five of them open the breaker.
        for (let i = 0; i < 5; i++) {
          const down = await query({ sql: "SELECT 1 AS one" }, owner, at);
          if (down.status === 504) await expectProblem(down, 504, "DATA_SOURCE_TIMEOUT");
          else await expectProblem(down, 502, "DATA_SOURCE_UNREACHABLE");
        }
        const open = await query({ sql: "SELECT 1 AS one" }, owner, at);
        await expectProblem(open, 503, "DATA_SOURCE_CIRCUIT_OPEN");
        const health = await json<{ status: string; outages: number; breaker: { state: string } }>(
          await call(`${at}/health`, { token: owner.token }),
          200,
        );
        expect(health).toMatchObject({ status: "down", outages: 5, breaker: { state: "open" } });
        const metrics = await json<Metrics>(await call(`${at}/metrics`, { token: owner.token }), 200);
        expect(metrics.outcomes).toMatchObject({ ok: 1, circuit_open: 1 });
        expect((metrics.outcomes.unreachable ?? 0) + (metrics.outcomes.timeout ?? 0)).toBe(5);
      } finally {
        await postgresProxy("start");
      }
      // Changing the source's settings starts its breaker afresh; it connects again through the restarted proxy.
      await json(
        await call(at, { method: "PATCH", token: owner.token, body: { connectionString: db.url(tcpPostgres()!.proxyPort) } }),
        200,
      );
      expect((await json<Page>(await query({ sql: "SELECT 1 AS one" }, owner, at), 200)).rows).toEqual([[1]]);
    });

    it("does not open on a member's bad SQL or refused statements", async () => {
      const member = await person("pg-tcp-breaker");
      await addMember(owner, slug, member, "member");
      for (let i = 0; i < 8; i++) {
        const text = i % 2 ? "SELECT * FROM no_such_table" : "SELECT drain()";
        expect((await query({ sql: text }, member)).status).toBe(422);
      }
      const metrics = await json<Metrics>(await call(`${base}/metrics`, { token: owner.token }), 200);
      expect(metrics.breaker).toEqual({ state: "closed", failures: 0, retryAfterSeconds: null });
      expect((await json<Page>(await query({ sql: "SELECT 1 AS one" }, member), 200)).rows).toEqual([[1]]);
    });
  });

  describe("health and metrics routes", () => {
    it("answer viewers; another tenant gets 404; a neon-http source 422", async () => {
      const viewer = await person("pg-tcp-viewer");
      await addMember(owner, slug, viewer, "viewer");
      const health = await json<{ status: string; windowSeconds: number }>(await call(`${base}/health`, { token: viewer.token }), 200);
      expect(health).toMatchObject({ status: expect.stringMatching(/^(up|degraded)$/), windowSeconds: 3600 });
      const metrics = await json<Metrics>(await call(`${base}/metrics`, { token: viewer.token }), 200);
      expect(metrics.calls).toBeGreaterThan(0);
      expect(metrics.pool).toMatchObject({ size: 3, maxConcurrent: 10 });
      const stranger = await person("pg-tcp-stranger");
      await team(stranger);
      for (const path of ["health", "metrics"]) {
        await expectProblem(await call(`${base}/${path}`, { token: stranger.token }), 404, "NOT_FOUND");
      }
      const http = await createSource(owner, slug, postgresBody());
      await expectProblem(
        await call(`/api/v1/orgs/${slug}/data-sources/${http.id}/metrics`, { token: owner.token }),
        422,
        "DATA_SOURCE_WRONG_KIND",
      );
    });
  });
});
