// The store's query engine: one caller's read-only statement over `dataset`, checked by SQLite's own compiler, run in a transaction that is
// always rolled back, and read row by row under caps of rows, bytes and time.
import { checkSql, type CheckedSql, type SqlRefusal } from "./sql-tokens.ts";

export type QueryParam = string | number | null;

export interface QueryRequest {
  sql: string;
  params?: QueryParam[];
  maxRows: number;
  maxBytes: number;
  timeoutMs: number;
}

export type ResultColumnType = "integer" | "number" | "boolean" | "datetime" | "string" | "blob" | "null" | "mixed";

export interface QuerySuccess {
  ok: true;
  columns: { name: string; type: ResultColumnType }[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  elapsedMs: number;
  /** Rows SQLite read to answer (its own counter): what the query cost. */
  rowsRead: number;
}

export type QueryFailureCode = "DATASET_NOT_READY" | "QUERY_INVALID" | "QUERY_NOT_READ_ONLY" | "QUERY_TIMEOUT" | "QUERY_RESULT_TOO_LARGE";

export interface QueryFailure {
  ok: false;
  code: QueryFailureCode;
  message: string;
  position?: number;
  /** For DATASET_NOT_READY: the store's status ("missing" when it was never loaded). */
  status?: string;
}

export type QueryOutcome = QuerySuccess | QueryFailure;

export type StoreColumnType = "integer" | "number" | "boolean" | "datetime" | "string";

/**
 * Opcodes of statements that write or change the schema: any of them makes the statement a write, whatever its text said. (Insert and
 * IdxInsert also fill a sorter or an automatic index, so they say nothing alone: writing a real b-tree needs OpenWrite.)
 */
const writeOpcodes = new Set([
  "OpenWrite",
  "VUpdate",
  "Vacuum",
  "ParseSchema",
  "CreateBtree",
  "Destroy",
  "Clear",
  "DropTable",
  "DropIndex",
  "DropTrigger",
  "SetCookie",
  "IncrVacuum",
  "VBegin",
  "VCreate",
  "VDestroy",
  "VRename",
  "JournalMode",
  "Expire",
  "Program",
]);

/** A result that must leave the transaction it ran in: thrown to roll it back. */
class Rollback {
  constructor(readonly outcome: QueryOutcome) {}
}

const fail = (code: QueryFailureCode, message: string, position?: number): QueryFailure => ({
  ok: false,
  code,
  message,
  ...(position ? { position } : {}),
});
const refused = (refusal: SqlRefusal) => fail(refusal.code, refusal.message, refusal.position);

/** SQLite's message without its suffixes, and the 1-based position in the caller's text ("… at offset 7: SQLITE_ERROR"). */
function sqliteError(error: unknown, shift: number, base: number): QueryFailure {
  const raw = error instanceof Error ? error.message : String(error);
  const message = raw.replace(/^Error: /, "").replace(/: SQLITE_[A-Z_]+$/, "");
  const offset = /\s+at offset (\d+)$/.exec(message);
  const position = offset ? Number(offset[1]) - shift + base + 1 : undefined;
  return fail(
    "QUERY_INVALID",
    offset ? message.slice(0, offset.index) : message,
    position !== undefined && position > 0 ? position : undefined,
  );
}

/** The store's status and column types (from `_store_meta`); a store that was never created is "missing". */
function storeState(sql: SqlStorage): { status: string; columns: { name: string; type: StoreColumnType }[] } {
  const meta = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_store_meta'`).one();
  if (meta.n === 0) return { status: "missing", columns: [] };
  const rows = sql.exec<{ key: string; value: string }>(`SELECT key, value FROM _store_meta WHERE key IN ('status', 'columns')`).toArray();
  const get = (key: string) => rows.find((row) => row.key === key)?.value;
  let columns: { name: string; type: StoreColumnType }[] = [];
  try {
    columns = JSON.parse(get("columns") ?? "[]") as typeof columns;
  } catch {
    columns = [];
  }
  return { status: get("status") ?? "missing", columns };
}

/**
 * The second gate, by SQLite's compiler: EXPLAIN the statement (which runs nothing) and refuse a program that writes (a write
 * transaction or a write opcode) or opens any b-tree other than `dataset`'s (sqlite_master is page 1, `_store_meta` its own).
 */
export function checkProgram(sql: SqlStorage, checked: CheckedSql, params: QueryParam[], base: number): QueryFailure | null {
  let program: { opcode: string; p2: number; p3: number }[];
  try {
    program = sql.exec<{ opcode: string; p2: number; p3: number }>(`EXPLAIN ${checked.text}`, ...params).toArray();
  } catch (error) {
    return sqliteError(error, "EXPLAIN ".length, base);
  }
  const pages = new Set(
    sql
      .exec<{ rootpage: number }>(`SELECT rootpage FROM sqlite_master WHERE tbl_name = 'dataset' AND type IN ('table', 'index')`)
      .toArray()
      .map((row) => row.rootpage),
  );
  const namesJson = checked.tokens.some((token) => token.kind === "word" && (token.value === "json_each" || token.value === "json_tree"));
  for (const op of program) {
    if (writeOpcodes.has(op.opcode) || (op.opcode === "Transaction" && op.p2 !== 0))
      return fail("QUERY_NOT_READ_ONLY", "the statement would write: only reads run");
    if ((op.opcode === "OpenRead" || op.opcode === "ReopenIdx") && (op.p3 !== 0 || !pages.has(op.p2))) {
      return fail("QUERY_INVALID", 'only the table "dataset" can be queried');
    }
    // Table-valued functions: json_each and json_tree read their argument, nothing else; any other is refused.
    if (op.opcode === "VOpen" && !namesJson)
      return fail("QUERY_INVALID", "only the table-valued functions json_each and json_tree are offered");
  }
  return null;
}

/** A row of EXPLAIN QUERY PLAN; `notused` carries SQLite's estimated cost of the loop (LogEst: 10·log2). */
type PlanRow = { id: number; parent: number; notused: number; detail: string };

/**
 * A loop SQLite itself estimates at no more than this (LogEst 40 ≈ 16 rows: a one-row aggregate, a small LIMIT) may run inside or
 * around a full scan: that is linear. A GROUP BY or DISTINCT subquery estimates far higher and stays refused.
 */
const SMALL_LOOP_COST = 40;

/**
 * Shapes whose cost grows with the square of the table (or without bound), refused before they run, because SQLite in a Durable
 * Object cannot be interrupted inside one step (an aggregate over a cross join is one step): read from SQLite's query plan.
 */
export function checkPlan(sql: SqlStorage, checked: CheckedSql, params: QueryParam[], base: number): QueryFailure | null {
  let plan: PlanRow[];
  try {
    plan = sql.exec<PlanRow>(`EXPLAIN QUERY PLAN ${checked.text}`, ...params).toArray();
  } catch (error) {
    return sqliteError(error, "EXPLAIN QUERY PLAN ".length, base);
  }
  if (plan.some((row) => row.detail.startsWith("RECURSIVE STEP"))) {
    return fail("QUERY_INVALID", "recursive common table expressions are not offered (they can run without end)");
  }
  // A subquery or CTE computed on its own ("CO-ROUTINE g", "MATERIALIZE t"): reading it loops over its rows, which can be many.
  const derived = new Set(plan.flatMap((row) => /^(?:CO-ROUTINE|MATERIALIZE) (.+)$/.exec(row.detail)?.[1] ?? []));
  const children = new Map<number, PlanRow[]>();
  for (const row of plan) children.set(row.parent, [...(children.get(row.parent) ?? []), row]);
  const loops = (rows: PlanRow[]) =>
    rows.flatMap((row) => {
      const match = /^(SCAN|SEARCH) (.+?)(?: USING .*| VIRTUAL TABLE .*)?$/.exec(row.detail);
      if (!match || /^(CONSTANT ROW|\d+-ROW VALUES CLAUSE|json_each|json_tree)$/.test(match[2]!)) return [];
      return [{ full: match[1] === "SCAN", source: match[2]!, base: !derived.has(match[2]!), small: row.notused <= SMALL_LOOP_COST }];
    });
  const hint = "use a window function (… OVER (…)), a scalar subquery, or join an aggregated subquery on its group key";
  for (const siblings of children.values()) {
    // The loops of one join, outermost first: each inner loop runs once per row of the loops around it.
    const join = loops(siblings);
    if (join.filter((loop) => loop.base).length > 1)
      return fail("QUERY_INVALID", `joining "dataset" with itself is refused (its cost grows with the square of the rows): ${hint}`);
    const full = join.filter((loop) => loop.full);
    if (full.length > 1 && full.filter((loop) => !loop.small).length > 1)
      return fail("QUERY_INVALID", `a join that reads two row sources in full, one per row of the other, is refused: ${hint}`);
  }
  // A correlated subquery runs once per outer row: it may look rows up, not read a source in full.
  for (const row of plan) {
    if (!row.detail.startsWith("CORRELATED")) continue;
    const inside = (id: number): PlanRow[] => (children.get(id) ?? []).flatMap((child) => [child, ...inside(child.id)]);
    if (loops(inside(row.id)).some((loop) => loop.full))
      return fail("QUERY_INVALID", `a correlated subquery that reads the table once per row is refused: ${hint}`);
  }
  return null;
}

/** JSON cannot hold a blob: it is sent as base64. */
function cell(value: unknown): unknown {
  if (value instanceof ArrayBuffer) {
    let binary = "";
    for (const byte of new Uint8Array(value)) binary += String.fromCharCode(byte);
    return btoa(binary);
  }
  return value;
}

/** A column's type: the profile's when it is named as a column of the table and its values fit, else what the values are. */
function columnTypes(names: string[], rows: unknown[][], store: Map<string, StoreColumnType>): { name: string; type: ResultColumnType }[] {
  return names.map((name, index) => {
    const kinds = new Set<string>();
    for (const row of rows) {
      const value = row[index];
      if (value === null || value === undefined) continue;
      // A REAL that holds a whole number arrives as one: a computed number is "number", never guessed "integer".
      kinds.add(typeof value === "number" ? "number" : typeof value === "string" ? "string" : "blob");
    }
    const declared = store.get(name);
    const storage: Record<StoreColumnType, string> = {
      integer: "number",
      number: "number",
      boolean: "number",
      datetime: "string",
      string: "string",
    };
    if (declared && [...kinds].every((kind) => kind === storage[declared])) return { name, type: declared };
    if (kinds.size === 0) return { name, type: "null" };
    return { name, type: kinds.size === 1 ? ([...kinds][0] as ResultColumnType) : "mixed" };
  });
}

const encoder = new TextEncoder();

/**
 * Runs `request.sql` over `dataset`. Not ready, refused and failed statements come back as a QueryFailure (never thrown), so a caller
 * across RPC sees exactly why. The clock is checked after each row read; a single step that overruns is caught when it returns.
 */
export function runQuery(storage: DurableObjectStorage, request: QueryRequest): QueryOutcome {
  const started = Date.now();
  const sql = storage.sql;
  const state = storeState(sql);
  if (state.status !== "ready") return { ...fail("DATASET_NOT_READY", `the dataset's store is ${state.status}`), status: state.status };

  const gate = checkSql(request.sql);
  if (!gate.ok) return refused(gate.refusal);
  const params = request.params ?? [];
  const base = gate.checked.tokens[0]!.start;
  const refusal = checkProgram(sql, gate.checked, params, base) ?? checkPlan(sql, gate.checked, params, base);
  if (refusal) return refusal;

  return readRolledBack(storage, gate.checked.text, params, request, state.columns, started, base);
}

/**
 * Runs `text` inside a transaction that is always rolled back (the result leaves by the Rollback thrown at its end), reading the
 * cursor row by row under the caps. Exported so a test can show that a write that got past both gates still changes nothing.
 */
export function readRolledBack(
  storage: DurableObjectStorage,
  text: string,
  params: QueryParam[],
  request: Omit<QueryRequest, "sql" | "params">,
  storeColumns: { name: string; type: StoreColumnType }[],
  started = Date.now(),
  base = 0,
): QueryOutcome {
  const deadline = started + request.timeoutMs;
  const sql = storage.sql;
  const overtime = () => fail("QUERY_TIMEOUT", `the query ran longer than ${request.timeoutMs} ms`);
  try {
    // Whatever the statement did, the transaction is rolled back: the result leaves by the Rollback thrown at the end.
    storage.transactionSync(() => {
      const cursor = sql.exec(text, ...params);
      const names = cursor.columnNames;
      const rows: unknown[][] = [];
      let bytes = 2;
      let truncated = false;
      for (const raw of cursor.raw()) {
        if (Date.now() > deadline) throw new Rollback(overtime());
        if (rows.length === request.maxRows) {
          truncated = true;
          break;
        }
        const row = raw.map(cell);
        bytes += encoder.encode(JSON.stringify(row)).length + 1;
        if (bytes > request.maxBytes) {
          throw new Rollback(
            fail(
              "QUERY_RESULT_TOO_LARGE",
              `the result is larger than ${request.maxBytes} bytes after ${rows.length} rows: select fewer columns or rows`,
            ),
          );
        }
        rows.push(row);
      }
      if (Date.now() > deadline) throw new Rollback(overtime());
      const types = new Map(storeColumns.map((column) => [column.name, column.type]));
      throw new Rollback({
        ok: true,
        columns: columnTypes(names, rows, types),
        rows,
        rowCount: rows.length,
        truncated,
        elapsedMs: Date.now() - started,
        rowsRead: cursor.rowsRead,
      });
    });
  } catch (error) {
    if (error instanceof Rollback) return error.outcome;
    // A runtime error of the statement (integer overflow, a string too big, a bad function argument) is the caller's to fix;
    // anything else is ours.
    if (error instanceof Error && /SQLITE_[A-Z]+$/.test(error.message)) return sqliteError(error, 0, base);
    throw error;
  }
  throw new Error("unreachable: the query transaction always rolls back");
}
