// Reads a caller's SQL as SQLite's tokenizer does (strings, "identifiers", [brackets], `backticks`, comments) to decide, before SQLite sees it,
// whether it is one read-only statement over `dataset` only, and to give it a normal form for the result cache.

export type TokenKind = "word" | "identifier" | "string" | "number" | "parameter" | "punct";

export interface Token {
  kind: TokenKind;
  /** For words, lower-cased; for identifiers and strings, the unquoted value; else the text. */
  value: string;
  /** The text as written (quotes included). */
  text: string;
  /** 0-based offset in the statement text. */
  start: number;
}

export interface SqlRefusal {
  code: "QUERY_INVALID" | "QUERY_NOT_READ_ONLY";
  message: string;
  /** 1-based character position, when the refusal points at one. */
  position?: number;
}

export interface CheckedSql {
  tokens: Token[];
  /** Comments dropped, whitespace collapsed, bare words lower-cased, trailing `;` dropped: equal forms run the same statement. */
  normalized: string;
  /** The statement as SQLite will run it (without trailing `;` and comments after it). */
  text: string;
}

export class SqlTokenError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

const closers: Record<string, string> = { "'": "'", '"': '"', "`": "`", "[": "]" };

/** SQLite's tokens; comments and whitespace are skipped. Throws SqlTokenError on an unterminated string, identifier or comment. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const char = sql[i]!;
    const next = sql[i + 1];
    if (/\s/.test(char)) {
      i++;
    } else if (char === "-" && next === "-") {
      const newline = sql.indexOf("\n", i);
      i = newline < 0 ? sql.length : newline + 1;
    } else if (char === "/" && next === "*") {
      // SQLite's block comments do not nest; an unclosed one runs to the end (SQLite accepts that too).
      const close = sql.indexOf("*/", i + 2);
      i = close < 0 ? sql.length : close + 2;
    } else if (char in closers) {
      const closer = closers[char]!;
      let j = i + 1;
      let value = "";
      for (;;) {
        const at = sql.indexOf(closer, j);
        if (at < 0) throw new SqlTokenError(`unterminated ${char === "'" ? "string" : "quoted identifier"} starting here`, i + 1);
        value += sql.slice(j, at);
        // A doubled quote is the quote itself; brackets have no escape.
        if (closer !== "]" && sql[at + 1] === closer) {
          value += closer;
          j = at + 2;
          continue;
        }
        j = at + 1;
        break;
      }
      tokens.push({ kind: char === "'" ? "string" : "identifier", value, text: sql.slice(i, j), start: i });
      i = j;
    } else if (/[0-9]/.test(char) || (char === "." && /[0-9]/.test(next ?? ""))) {
      const match = /^(0x[0-9a-f_]+|[0-9_]*\.?[0-9_]*(e[+-]?[0-9_]+)?)/i.exec(sql.slice(i))![0];
      tokens.push({ kind: "number", value: match.toLowerCase(), text: match, start: i });
      i += match.length;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(char)) {
      const match = /^[A-Za-z0-9_$\u0080-\uffff]+/.exec(sql.slice(i))![0];
      // x'…' is a blob literal: the word and its string stay one token.
      if (/^x$/i.test(match) && sql[i + 1] === "'") {
        const close = sql.indexOf("'", i + 2);
        if (close < 0) throw new SqlTokenError("unterminated blob literal starting here", i + 1);
        tokens.push({ kind: "string", value: sql.slice(i + 2, close), text: sql.slice(i, close + 1), start: i });
        i = close + 1;
        continue;
      }
      tokens.push({ kind: "word", value: match.toLowerCase(), text: match, start: i });
      i += match.length;
    } else if (char === "?" || ((char === ":" || char === "@" || char === "$") && /[A-Za-z0-9_]/.test(next ?? ""))) {
      const match = /^[?:@$][A-Za-z0-9_]*/.exec(sql.slice(i))![0];
      tokens.push({ kind: "parameter", value: match, text: match, start: i });
      i += match.length;
    } else {
      const two = sql.slice(i, i + 3) === "->>" ? "->>" : sql.slice(i, i + 2);
      const op = ["->>", "->", "||", "<=", ">=", "==", "!=", "<>", "<<", ">>"].includes(two) ? two : char;
      tokens.push({ kind: "punct", value: op, text: op, start: i });
      i += op.length;
    }
  }
  return tokens;
}

/** Statements that write, change the schema or the connection: refused wherever they appear as a bare word. */
const writeWords = new Set([
  "insert",
  "update",
  "delete",
  "replace",
  "upsert",
  "merge",
  "drop",
  "create",
  "alter",
  "truncate",
  "attach",
  "detach",
  "pragma",
  "vacuum",
  "reindex",
  "analyze",
  "begin",
  "commit",
  "rollback",
  "savepoint",
  "release",
  "trigger",
]);
const firstWords = new Set(["select", "with", "values"]);
/** Names of SQLite's own tables, the store's internal ones, workerd's and the pragma table-valued functions. */
const hiddenName = /^(sqlite_|_store_|_cf_|pragma_)/i;
/** Functions that only make large blobs (memory, not analysis). */
const refusedFunctions = new Set(["zeroblob", "randomblob", "load_extension"]);

/**
 * Exactly one statement, starting SELECT, WITH or VALUES, no write or schema keyword anywhere (a `replace(…)` call is the
 * string function), and no name of a table other than ours. SQLite itself checks the rest (see query.ts): this is the
 * first of two gates, so a mistake here alone cannot let a write through.
 */
export function checkSql(sql: string): { ok: true; checked: CheckedSql } | { ok: false; refusal: SqlRefusal } {
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch (error) {
    if (error instanceof SqlTokenError)
      return { ok: false, refusal: { code: "QUERY_INVALID", message: error.message, position: error.position } };
    throw error;
  }
  for (const [index, token] of tokens.entries()) {
    const following = tokens[index + 1];
    if (token.kind === "word" && writeWords.has(token.value) && !(token.value === "replace" && following?.value === "(")) {
      return {
        ok: false,
        refusal: {
          code: "QUERY_NOT_READ_ONLY",
          message: `${token.text.toUpperCase()} is not allowed: only one read-only SELECT, WITH … SELECT or VALUES statement runs (quote a column of that name: "${token.text}")`,
          position: token.start + 1,
        },
      };
    }
    if ((token.kind === "word" || token.kind === "identifier") && hiddenName.test(token.value)) {
      return {
        ok: false,
        refusal: {
          code: "QUERY_INVALID",
          message: `only the table "dataset" can be queried; "${token.value}" is not visible`,
          position: token.start + 1,
        },
      };
    }
    if (token.kind === "word" && refusedFunctions.has(token.value) && following?.value === "(") {
      return {
        ok: false,
        refusal: { code: "QUERY_INVALID", message: `the function ${token.value}() is not offered`, position: token.start + 1 },
      };
    }
  }
  // Empty statements (a trailing `;`, or `;;`) are nothing; more than one real statement is refused.
  const statements: Token[][] = [[]];
  for (const token of tokens) {
    if (token.kind === "punct" && token.value === ";") statements.push([]);
    else statements.at(-1)!.push(token);
  }
  const real = statements.filter((statement) => statement.length > 0);
  if (real.length === 0) return { ok: false, refusal: { code: "QUERY_INVALID", message: "the query is empty" } };
  if (real.length > 1) {
    return {
      ok: false,
      refusal: {
        code: "QUERY_INVALID",
        message: "send exactly one statement (a second one starts here)",
        position: real[1]![0]!.start + 1,
      },
    };
  }
  const statement = real[0]!;
  const first = statement[0]!;
  if (first.kind !== "word" || !firstWords.has(first.value)) {
    return {
      ok: false,
      refusal: {
        code: "QUERY_INVALID",
        message: `near "${first.text}": the statement must be SELECT, WITH … SELECT or VALUES`,
        position: first.start + 1,
      },
    };
  }
  const last = statement.at(-1)!;
  const text = sql.slice(first.start, last.start + last.text.length);
  const normalized = statement.map((token) => (token.kind === "word" ? token.value : token.text)).join(" ");
  return { ok: true, checked: { tokens: statement, normalized, text } };
}
