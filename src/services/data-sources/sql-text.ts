// Reads just enough of a SQL text to know its first keyword and whether it holds more than one statement.

export interface SqlShape {
  /** The first keyword, lower-cased ("select", "with", …), or "(" for a parenthesised query; "" when empty. */
  keyword: string;
  statements: number;
  /** The text without trailing semicolons and whitespace. */
  text: string;
}

/** Skips comments, quoted strings, quoted identifiers and dollar-quoted bodies; counts top-level statements. */
export function shapeOf(sql: string): SqlShape {
  let keyword = "";
  let statements = 0;
  let inStatement = false;
  let end = 0;
  for (let i = 0; i < sql.length; ) {
    const char = sql[i]!;
    const next = sql[i + 1];
    if (char === "-" && next === "-") {
      const newline = sql.indexOf("\n", i);
      i = newline < 0 ? sql.length : newline + 1;
      continue;
    }
    if (char === "/" && next === "*") {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql[i] === "/" && sql[i + 1] === "*") (depth++, (i += 2));
        else if (sql[i] === "*" && sql[i + 1] === "/") (depth--, (i += 2));
        else i++;
      }
      continue;
    }
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    if (char === ";") {
      inStatement = false;
      i++;
      continue;
    }
    if (!inStatement) {
      inStatement = true;
      statements++;
      if (statements === 1) keyword = char === "(" ? "(" : (/^[A-Za-z_]+/.exec(sql.slice(i))?.[0] ?? char).toLowerCase();
    }
    if (char === "'" || char === '"') {
      const escapes = char === "'" && /[eE]/.test(sql[i - 1] ?? "") && !/[\w$]/.test(sql[i - 2] ?? "");
      i++;
      while (i < sql.length) {
        if (escapes && sql[i] === "\\") i += 2;
        else if (sql[i] === char && sql[i + 1] === char) i += 2;
        else if (sql[i] === char) break;
        else i++;
      }
      i++;
    } else if (char === "$" && !/[\w$]/.test(sql[i - 1] ?? "")) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        i = close < 0 ? sql.length : close + tag.length;
      } else i++;
    } else i++;
    end = i;
  }
  return { keyword, statements, text: sql.slice(0, end).trimEnd() };
}
