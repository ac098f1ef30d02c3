// External Postgres: a connection test, the catalog, and read-only paged queries, over either transport: TCP through the
// source's SourceConnection object (postgres-tcp.ts), or Neon's SQL-over-HTTP protocol from the request itself.
import { neon, type FullQueryResults } from "@neondatabase/serverless";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { withNeonEndpoint } from "../../db/neon-endpoint.ts";
import type { SourceConnection, SourceLimits } from "../../durable-objects/source-connection/source-connection.ts";
import { ApiError, type ErrorCode } from "../../lib/problem.ts";
import { throughCircuit } from "./circuit.ts";
import { parsePostgresUrl, type Sslmode } from "./network.ts";
import { postgresProblem } from "./postgres-errors.ts";
import type { RawResult, Step } from "./postgres-tcp.ts";
import { readableStatement } from "./sql-policy.ts";

export const postgresTransports = ["tcp", "neon-http"] as const;
export type PostgresTransport = (typeof postgresTransports)[number];

export interface PostgresCredentials {
  connectionString: string;
  /** A non-Neon proxy speaking Neon's protocol (e.g. http://127.0.0.1:4444/sql); unset: Neon's own endpoint for the host. */
  endpoint?: string;
  /** How the source is reached; unset on sources registered before TCP existed, which are `neon-http`. */
  transport?: PostgresTransport;
}

export const transportOf = (credentials: PostgresCredentials): PostgresTransport => credentials.transport ?? "neon-http";

export interface PostgresTarget {
  id: string;
  credentials: PostgresCredentials;
  timeoutMs: number;
  maxBytes: number;
  /** The calling request's W3C trace context, sent on every call to the source. */
  traceparent?: string;
  /** For the TCP transport: the source objects, the pool's limits, and the sslmode when the connection string names none. */
  tcp?: {
    connections: DurableObjectNamespace<SourceConnection>;
    limits: Omit<SourceLimits, "timeoutMs">;
    defaultSslmode: Sslmode;
  };
}

type Result = RawResult;
type Sql = ReturnType<typeof neon<true, true>>;

/** Builds the statements of one call, whatever carries them. */
interface Steps {
  query(text: string, params?: unknown[]): Step;
}
const steps: Steps = { query: (text, params = []) => ({ text, params }) };
type Value = string | number | boolean | null | Record<string, unknown> | unknown[];

/** Every value arrives as Postgres text; `jsonValue` decides what it becomes in JSON. */
const rawText = { getTypeParser: () => (value: string) => value };
const integers = new Set([21, 23, 26]);
const floats = new Set([700, 701]);
const jsons = new Set([114, 3802]);

const typeNames: Record<number, string> = {
  16: "boolean",
  17: "bytea",
  19: "name",
  20: "bigint",
  21: "smallint",
  23: "integer",
  25: "text",
  26: "oid",
  114: "json",
  700: "real",
  701: "double precision",
  1042: "character",
  1043: "character varying",
  1082: "date",
  1083: "time",
  1114: "timestamp",
  1184: "timestamptz",
  1186: "interval",
  1700: "numeric",
  2950: "uuid",
  3802: "jsonb",
};
export const typeName = (oid: number) => typeNames[oid] ?? `oid:${oid}`;

/** Numbers that fit a double, booleans and JSON become themselves; bigint and numeric stay exact as strings. */
function jsonValue(text: string | null, oid: number): Value {
  if (text === null) return null;
  if (integers.has(oid)) return Number(text);
  if (floats.has(oid)) return Number.isFinite(Number(text)) ? Number(text) : text;
  if (oid === 16) return text === "t";
  if (jsons.has(oid)) return JSON.parse(text) as Value;
  return text;
}

/**
 * The statement that (re-)sets the transaction's statement timeout over Neon's HTTP, a little under the fetch's so a slow
 * query says so itself. Postgres arms the timer when each statement starts, so one sent before every statement that runs
 * the caller's query (MOVE, FETCH) holds even if that query lifted the setting for the rest of the transaction (a function
 * calling set_config). Strings are read as standard-conforming, as the parser that checked the query read them.
 * (Over TCP the transport itself sets the timeout before every statement.)
 */
const neonTimeout = (target: PostgresTarget): Step => ({
  text: "SELECT set_config('statement_timeout', $1, true), set_config('standard_conforming_strings', 'on', true)",
  params: [String(Math.max(100, target.timeoutMs - 500))],
});

/** `SELECT 1` on its own, short clock, outside the breaker: is the source up? */
async function answers(target: PostgresTarget): Promise<boolean> {
  const sql = neon<true, true>(target.credentials.connectionString, {
    arrayMode: true,
    fullResults: true,
    fetchOptions: { signal: AbortSignal.timeout(Math.min(target.timeoutMs, 2_000)) },
  });
  return withNeonEndpoint(target.credentials.endpoint, () => sql.query("SELECT 1", [], { types: rawText }), target.traceparent).then(
    () => true,
    () => false,
  );
}

/** Neon's HTTP: the steps as one batch in a read-only transaction (Neon's `readOnly` option), with a fetch timeout. */
async function neonReadOnly(target: PostgresTarget, batch: Step[]): Promise<Result[]> {
  return withNeonEndpoint(
    target.credentials.endpoint,
    async () => {
      const sql: Sql = neon<true, true>(target.credentials.connectionString, {
        arrayMode: true,
        fullResults: true,
        fetchOptions: { signal: AbortSignal.timeout(target.timeoutMs) },
      });
      try {
        const [, ...results] = await sql.transaction(
          [neonTimeout(target), ...batch].map((step) => sql.query(step.text, step.params, { types: rawText })),
          { readOnly: true, arrayMode: true, fullResults: true },
        );
        return results as FullQueryResults<true>[] as Result[];
      } catch (error) {
        throw postgresProblem(error);
      }
    },
    target.traceparent,
  );
}

/** TCP: the steps go to the source's SourceConnection, which runs them on a warm connection behind its own breaker. */
async function tcpReadOnly(target: PostgresTarget, batch: Step[], callerText: boolean): Promise<Result[]> {
  const tcp = target.tcp;
  if (!tcp) throw new Error("A TCP Postgres target needs its SourceConnection namespace (postgresTarget sets it).");
  const stub = tcp.connections.get(tcp.connections.idFromName(target.id));
  const answer = await stub.postgres({
    sourceId: target.id,
    address: parsePostgresUrl(target.credentials.connectionString, "body.connectionString"),
    defaultSslmode: tcp.defaultSslmode,
    limits: { ...tcp.limits, timeoutMs: target.timeoutMs },
    steps: batch,
    callerText,
  });
  if (answer.ok) return answer.value;
  const { status, code, detail, headers } = answer.problem;
  throw new ApiError(status as ContentfulStatusCode, { code: code as ErrorCode, detail, headers });
}

/**
 * Runs `build`'s statements in one read-only transaction with the statement timeout armed, through the source's circuit
 * breaker. `build` re-arms the timeout with `arm` before each further statement that runs the caller's query (a no-op over
 * TCP, which arms before every statement). `callerText`: the statements hold a caller's SQL, so an outage is confirmed first.
 */
async function readOnly(
  target: PostgresTarget,
  build: (sql: Steps, arm: () => Step[]) => Step[],
  { callerText = false } = {},
): Promise<Result[]> {
  if (transportOf(target.credentials) === "tcp")
    return tcpReadOnly(
      target,
      build(steps, () => []),
      callerText,
    );
  return throughCircuit(
    target.id,
    () =>
      neonReadOnly(
        target,
        build(steps, () => [neonTimeout(target)]),
      ),
    callerText ? { confirmOutage: async () => !(await answers(target)) } : {},
  );
}

const query = (sql: Steps, text: string, params: unknown[] = []) => sql.query(text, params);

/** A bind parameter of a caller's query: sent as text, typed by Postgres from where `$n` stands. */
export type Param = string | number | boolean | null;

/**
 * Catalog reads in one read-only transaction: each `{ text, params }` answers its rows as objects with JSON values. The one
 * primitive the catalog and type generation (postgres-catalog.ts) run through, whatever the transport underneath.
 */
export async function readRows(target: PostgresTarget, queries: { text: string; params?: Param[] }[]) {
  const results = await readOnly(target, (sql) => queries.map(({ text, params }) => query(sql, text, params)));
  return results.map(objects);
}

/** Rows of a catalog query as objects with JSON values. */
function objects(result: Result): Record<string, Value>[] {
  return (result.rows as (string | null)[][]).map((row) =>
    Object.fromEntries(result.fields.map((field, i) => [field.name, jsonValue(row[i] ?? null, field.dataTypeID)])),
  );
}

/** What the source's role may do beyond reading: the read-only transaction stops writes, but the role is the real defence. */
const roleQuery = `SELECT r.rolsuper AS superuser, r.rolcreaterole AS "createRole", r.rolcreatedb AS "createDatabase", r.rolbypassrls AS "bypassRls",
  has_database_privilege(current_database(), 'CREATE') AS "createSchema",
  EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND (has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'))) AS "writeTables"
  FROM pg_roles r WHERE r.rolname = current_user`;

export type RoleFlags = Record<"superuser" | "createRole" | "createDatabase" | "bypassRls" | "createSchema" | "writeTables", boolean>;

const roleWarnings: Record<keyof RoleFlags, string> = {
  superuser:
    "The role is a superuser: it can do anything on the server, whatever this API refuses; register a read-only role (see the README).",
  createRole: "The role can create roles.",
  createDatabase: "The role can create databases.",
  bypassRls: "The role bypasses row-level security.",
  createSchema: "The role can create schemas in this database.",
  writeTables: "The role may insert, update, delete or truncate rows of some tables; only the read-only transaction stops it here.",
};

export async function testPostgres(target: PostgresTarget) {
  const started = Date.now();
  const [result, roleResult] = await readOnly(target, (sql) => [
    query(
      sql,
      "SELECT current_setting('server_version') AS version, version() AS description, current_database() AS database, current_user AS \"user\"",
    ),
    query(sql, roleQuery),
  ]);
  const latencyMs = Date.now() - started;
  const [info] = objects(result!);
  const [flags = {}] = objects(roleResult!);
  const role = Object.fromEntries(Object.keys(roleWarnings).map((flag) => [flag, flags[flag] === true])) as RoleFlags;
  return {
    latencyMs,
    serverVersion: String(info?.version ?? ""),
    details: { description: String(info?.description ?? ""), database: String(info?.database ?? ""), user: String(info?.user ?? "") },
    role,
    warnings: (Object.keys(roleWarnings) as (keyof RoleFlags)[]).filter((flag) => role[flag]).map((flag) => roleWarnings[flag]),
  };
}

const hidden =
  "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'";

export async function listSchemas(target: PostgresTarget) {
  const [result] = await readOnly(target, (sql) => [
    query(
      sql,
      `SELECT n.nspname AS name,
              count(c.oid) FILTER (WHERE c.relkind IN ('r', 'p', 'f'))::int AS tables,
              count(c.oid) FILTER (WHERE c.relkind IN ('v', 'm'))::int AS views
       FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid
       WHERE ${hidden} GROUP BY n.nspname ORDER BY n.nspname LIMIT 1000`,
    ),
  ]);
  return objects(result!) as { name: string; tables: number; views: number }[];
}

type RelationKind = "table" | "foreign_table" | "view" | "materialized_view";
const kinds: Record<string, RelationKind> = { r: "table", p: "table", f: "foreign_table", v: "view", m: "materialized_view" };

/** Tables and views of `schema`, each with its columns (name, type, nullable, default) and indexes. */
export async function listTables(target: PostgresTarget, schema: string) {
  const [relations, columns, indexes] = await readOnly(target, (sql) => [
    query(
      sql,
      `SELECT c.relname AS name, c.relkind AS kind, greatest(c.reltuples, 0)::bigint AS "estimatedRows", obj_description(c.oid, 'pg_class') AS comment
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f', 'v', 'm') ORDER BY c.relname LIMIT 1000`,
      [schema],
    ),
    query(
      sql,
      `SELECT c.relname AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
              pg_get_expr(d.adbin, d.adrelid) AS "default"
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY c.relname, a.attnum LIMIT 20000`,
      [schema],
    ),
    query(
      sql,
      `SELECT t.relname AS "table", i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition, x.indisunique AS "unique", x.indisprimary AS "primary"
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = $1 ORDER BY t.relname, i.relname LIMIT 5000`,
      [schema],
    ),
  ]);
  const byTable = <T extends { table?: Value }>(rows: T[]) => {
    const map = new Map<string, Omit<T, "table">[]>();
    for (const { table, ...rest } of rows) map.set(String(table), [...(map.get(String(table)) ?? []), rest]);
    return map;
  };
  const columnsOf = byTable(objects(columns!));
  const indexesOf = byTable(objects(indexes!));
  const tables = objects(relations!).map((row) => ({
    name: String(row.name),
    kind: kinds[String(row.kind)] ?? "table",
    estimatedRows: Number(row.estimatedRows),
    comment: (row.comment as string | null) ?? null,
    columns: (columnsOf.get(String(row.name)) ?? []) as { name: string; type: string; nullable: boolean; default: string | null }[],
    indexes: (indexesOf.get(String(row.name)) ?? []) as { name: string; definition: string; unique: boolean; primary: boolean }[],
  }));
  return capBytes(tables, target.maxBytes);
}

export interface QueryPage {
  columns: { name: string; type: string }[];
  rows: Value[][];
  /** More rows follow (ask again from `nextOffset`). */
  hasMore: boolean;
  /** Rows were left off this page to keep it under the size limit. */
  truncated: boolean;
}

/**
 * One page of a read-only query: a server-side cursor skips `offset` rows and fetches `limit + 1`,
 * so a query of millions of rows costs one page. The page is cut to the byte limit.
 */
export async function runQuery(
  target: PostgresTarget,
  sql: string,
  offset: number,
  limit: number,
  params: Param[] = [],
): Promise<QueryPage> {
  const statement = await readableStatement(sql, params.length);
  const results = await readOnly(
    target,
    (sql, arm) =>
      statement.cursor
        ? [
            query(sql, `DECLARE datacrafted_result NO SCROLL CURSOR FOR ${statement.text}`, params),
            ...(offset > 0 ? [query(sql, `MOVE FORWARD ${offset} IN datacrafted_result`), ...arm()] : []),
            query(sql, `FETCH FORWARD ${limit + 1} FROM datacrafted_result`),
          ]
        : [query(sql, statement.text, params)],
    { callerText: true },
  );
  const result = results.at(-1)!;
  const all = result.rows as (string | null)[][];
  const window = statement.cursor ? all : all.slice(offset, offset + limit + 1);
  const rows = window.slice(0, limit).map((row) => row.map((value, i) => jsonValue(value, result.fields[i]?.dataTypeID ?? 25)));
  const kept = capBytes(rows, target.maxBytes);
  return {
    columns: result.fields.map((field) => ({ name: field.name, type: typeName(field.dataTypeID) })),
    rows: kept,
    hasMore: kept.length < rows.length || window.length > limit,
    truncated: kept.length < rows.length,
  };
}

/** Every row of a read-only query, for an import: more than `maxRows` is 422 RESULT_TOO_LARGE, not a silent cut. */
export async function queryAll(
  target: PostgresTarget,
  sql: string,
  maxRows: number,
  params: Param[] = [],
): Promise<{ columns: string[]; rows: Value[][] }> {
  const statement = await readableStatement(sql, params.length);
  const results = await readOnly(
    target,
    (sql) =>
      statement.cursor
        ? [
            query(sql, `DECLARE datacrafted_import NO SCROLL CURSOR FOR ${statement.text}`, params),
            query(sql, `FETCH FORWARD ${maxRows + 1} FROM datacrafted_import`),
          ]
        : [query(sql, statement.text, params)],
    { callerText: true },
  );
  const result = results.at(-1)!;
  const rows = result.rows as (string | null)[][];
  if (rows.length > maxRows) {
    throw new ApiError(422, {
      code: "RESULT_TOO_LARGE",
      detail: `The query returns more than ${maxRows} rows, the import limit; narrow it (WHERE, LIMIT).`,
    });
  }
  return {
    columns: result.fields.map((field) => field.name),
    rows: rows.map((row) => row.map((value, i) => jsonValue(value, result.fields[i]?.dataTypeID ?? 25))),
  };
}

/**
 * The plan of a reading query as EXPLAIN (FORMAT JSON) gives it, never executed (ANALYZE is refused: it would run the query).
 * Only SELECT-shaped statements: EXPLAIN of an EXPLAIN or a SHOW is 422.
 */
export async function explain(target: PostgresTarget, sql: string, params: Param[] = [], { verbose = false } = {}): Promise<unknown> {
  const statement = await readableStatement(sql, params.length);
  if (!statement.cursor) {
    throw new ApiError(422, { code: "QUERY_NOT_ALLOWED", detail: "`explain` takes a SELECT-shaped query (SELECT, WITH, VALUES, TABLE)." });
  }
  const options = verbose ? "FORMAT JSON, VERBOSE" : "FORMAT JSON";
  const [result] = await readOnly(target, (neonSql) => [query(neonSql, `EXPLAIN (${options}) ${statement.text}`, params)], {
    callerText: true,
  });
  const text = (result!.rows as (string | null)[][])[0]?.[0];
  return text ? (JSON.parse(text) as unknown) : [];
}

/** The longest prefix of `items` whose JSON fits in `maxBytes`; not even one item → 422 RESULT_TOO_LARGE. */
export function capBytes<T>(items: T[], maxBytes: number): T[] {
  let bytes = 2;
  for (const [i, item] of items.entries()) {
    bytes += new TextEncoder().encode(JSON.stringify(item)).length + 1;
    if (bytes > maxBytes) {
      if (i === 0) {
        throw new ApiError(422, {
          code: "RESULT_TOO_LARGE",
          detail: `A single item of the result is larger than the ${maxBytes}-byte limit (DATA_SOURCE_MAX_RESULT_BYTES).`,
        });
      }
      return items.slice(0, i);
    }
  }
  return items;
}
