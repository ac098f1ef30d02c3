// What a data-source query may be, decided on PostgreSQL's own parse tree before anything is sent: one reading
// statement, and none of the calls that change the session, signal other backends, take locks or run SQL text of their own.
// The read-only transaction is what stops writes; this refuses early what the transaction would not stop.
import { ApiError } from "../../lib/problem.ts";
import { parseSql, type RawStatement } from "./sql-grammar.ts";

export interface ReadableStatement {
  /** The statement's own text, exactly as parsed (no trailing semicolon). */
  text: string;
  /** SELECT-shaped (SELECT, VALUES, TABLE, WITH): it can run behind a cursor; EXPLAIN and SHOW run as they are. */
  cursor: boolean;
}

/** Statements that change the session or the transaction, or leave it: named so the refusal says what it saw. */
const sessionStatements: Record<string, string> = {
  TransactionStmt: "transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT…)",
  VariableSetStmt: "SET / RESET",
  CopyStmt: "COPY",
  ListenStmt: "LISTEN",
  NotifyStmt: "NOTIFY",
  UnlistenStmt: "UNLISTEN",
  DiscardStmt: "DISCARD",
  LockStmt: "LOCK",
  DeclareCursorStmt: "DECLARE",
  ClosePortalStmt: "CLOSE",
  FetchStmt: "FETCH / MOVE",
  PrepareStmt: "PREPARE",
  ExecuteStmt: "EXECUTE",
  DeallocateStmt: "DEALLOCATE",
  DoStmt: "DO",
  CallStmt: "CALL",
  LoadStmt: "LOAD",
  CheckPointStmt: "CHECKPOINT",
};

/** Writing statements anywhere in the tree (a data-modifying WITH, EXPLAIN ANALYZE of a DELETE…). */
const writeNodes = new Set(["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]);

/**
 * Functions refused by name, schema-qualified or not: they change settings (set_config, the one way a query could lift its own
 * timeout), take advisory locks, notify, signal or stop backends, touch the server's files or WAL, or run SQL given as text
 * (query_to_xml, ts_stat, dblink), which this check could not see into.
 */
const refusedFunctions = [
  /^set_config$/,
  /^pg_(try_)?advisory_/,
  /^pg_notify$/,
  /^pg_(terminate|cancel|signal)_backend$/,
  /^pg_reload_conf$/,
  /^pg_rotate_logfile/,
  /^pg_promote$/,
  /^pg_log_backend_memory_contexts$/,
  /^pg_stat_reset/,
  /^pg_switch_wal$/,
  /^pg_create_restore_point$/,
  /^pg_backup_(start|stop)$/,
  /^pg_(create|drop|copy)_.*replication_slot$/,
  /^pg_replication_slot_advance$/,
  /^pg_logical_(emit_message|slot_)/,
  /^pg_(read|read_binary)_file$/,
  /^pg_ls_/,
  /^pg_file_/,
  /^lo_/,
  /^dblink/,
  /^(query|cursor)_to_xml/,
  /^ts_stat$/,
  /^(nextval|setval)$/,
];

const notAllowed = (what: string) =>
  new ApiError(422, { code: "QUERY_NOT_ALLOWED", detail: `Queries here may not use ${what}; it is refused before anything is sent.` });
const notReadOnly = (what: string) =>
  new ApiError(422, {
    code: "QUERY_NOT_READ_ONLY",
    detail: `Only reading statements run here (SELECT, WITH, VALUES, TABLE, EXPLAIN, SHOW); got ${what}.`,
  });

const nodeName = (node: Record<string, unknown> | undefined) => (node ? Object.keys(node)[0] : undefined) ?? "";

/** The last part of a function name node list (`pg_catalog.set_config` → `set_config`). */
function functionName(call: Record<string, unknown>): string {
  const parts = (call.funcname as { String?: { sval?: string } }[] | undefined) ?? [];
  return parts.at(-1)?.String?.sval ?? "";
}

/** Walks every node of the tree, refusing writes and refused functions wherever they sit. */
function inspect(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) inspect(item);
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [key, child] of Object.entries(value)) {
    if (writeNodes.has(key)) throw notReadOnly(key.replace(/Stmt$/, "").toUpperCase());
    if (sessionStatements[key]) throw notAllowed(sessionStatements[key]);
    if (key === "FuncCall") {
      const name = functionName(child as Record<string, unknown>);
      if (refusedFunctions.some((pattern) => pattern.test(name))) {
        throw name === "nextval" || name === "setval" ? notReadOnly(`${name}() (it writes a sequence)`) : notAllowed(`${name}()`);
      }
    }
    if (key === "SelectStmt" && (child as { intoClause?: unknown }).intoClause) throw notReadOnly("SELECT … INTO (it creates a table)");
    inspect(child);
  }
}

/** The statement's text from libpg_query's byte offsets (they count UTF-8 bytes, not UTF-16 units). */
function statementText(sql: string, statement: RawStatement): string {
  const bytes = new TextEncoder().encode(sql);
  const start = statement.stmt_location ?? 0;
  const end = statement.stmt_len ? start + statement.stmt_len : bytes.length;
  return new TextDecoder().decode(bytes.subarray(start, end)).trim();
}

/** The highest `$n` the tree refers to (0: none). */
function highestParam(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((most: number, item) => Math.max(most, highestParam(item)), 0);
  if (value === null || typeof value !== "object") return 0;
  let most = 0;
  for (const [key, child] of Object.entries(value)) {
    const own = key === "ParamRef" ? Number((child as { number?: number }).number ?? 0) : 0;
    most = Math.max(most, own, highestParam(child));
  }
  return most;
}

/** EXPLAIN ANALYZE runs the statement it explains, so it is refused whatever it explains (and however it is spelled). */
function refuseAnalyze(explain: { options?: { DefElem?: { defname?: string } }[] }) {
  if ((explain.options ?? []).some((option) => option.DefElem?.defname?.toLowerCase() === "analyze")) {
    throw notAllowed("EXPLAIN ANALYZE (it runs the query; ask for the plan alone)");
  }
}

/**
 * `sql` as one reading statement, or the 422 that says why not (syntax, several statements, a write, a refused call).
 * `params`: how many bind parameters come with it; `$1…$n` must be exactly those (400 naming body.params otherwise).
 */
export async function readableStatement(sql: string, params = 0): Promise<ReadableStatement> {
  const parsed = await parseSql(sql);
  if ("error" in parsed) {
    const at = parsed.error.position === undefined ? "" : ` (at character ${parsed.error.position + 1})`;
    throw new ApiError(422, { code: "QUERY_FAILED", detail: `The query does not parse: ${parsed.error.message}${at}.` });
  }
  const { statements } = parsed;
  if (statements.length === 0) throw new ApiError(422, { code: "QUERY_FAILED", detail: "The query is empty." });
  if (statements.length > 1)
    throw new ApiError(422, { code: "QUERY_FAILED", detail: `Send one statement at a time; this text holds ${statements.length}.` });
  const statement = statements[0]!;
  const kind = nodeName(statement.stmt);
  if (sessionStatements[kind]) throw notAllowed(sessionStatements[kind]);
  if (kind === "ExplainStmt") {
    const explain = statement.stmt!.ExplainStmt as { query?: Record<string, unknown>; options?: { DefElem?: { defname?: string } }[] };
    const explained = nodeName(explain.query);
    if (explained !== "SelectStmt") throw notReadOnly(`EXPLAIN of ${explained.replace(/Stmt$/, "").toUpperCase() || "a non-query"}`);
    refuseAnalyze(explain);
  } else if (kind !== "SelectStmt" && kind !== "VariableShowStmt") {
    throw notReadOnly(
      kind
        .replace(/Stmt$/, "")
        .replace(/([a-z])([A-Z])/g, "$1 $2")
        .toUpperCase(),
    );
  }
  inspect(statement.stmt);
  const wanted = highestParam(statement.stmt);
  if (wanted !== params) {
    throw new ApiError(400, {
      code: "VALIDATION_FAILED",
      detail: `The query refers to ${wanted ? `$1…$${wanted}` : "no parameters"} but ${params} ${params === 1 ? "was" : "were"} sent.`,
      errors: [{ path: "body.params", message: `expected ${wanted} parameter${wanted === 1 ? "" : "s"}` }],
    });
  }
  return { text: statementText(sql, statement), cursor: kind === "SelectStmt" };
}
