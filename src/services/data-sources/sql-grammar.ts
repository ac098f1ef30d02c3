// PostgreSQL's own parser (libpg_query compiled to WebAssembly) for deciding what a data-source query is before it is sent.
// Workers cannot compile WebAssembly from bytes at run time, so the module is imported (wrangler bundles it compiled) and
// handed to the Emscripten factory, rather than loaded by the package's own entry point.
import factory from "libpg-query/wasm/libpg-query.js";

export interface ParseError {
  message: string;
  /** 0-based offset into the text, when Postgres names one. */
  position: number | undefined;
}

/** One statement of a parse tree: its node (`{ SelectStmt: {...} }`) and where it sits in the text. */
export interface RawStatement {
  stmt?: Record<string, unknown>;
  stmt_location?: number;
  stmt_len?: number;
}

let loaded: ReturnType<typeof factory> | undefined;
// The module is imported on first use, so importing the app (as the Node scripts that print the OpenAPI document do) never
// loads WebAssembly that only the Worker's bundler knows how to import.
const parser = () =>
  (loaded ??= withScriptPath(() =>
    factory({
      instantiateWasm(imports, done) {
        void import("libpg-query/wasm/libpg-query.wasm").then(({ default: wasm }) => WebAssembly.instantiate(wasm, imports)).then(done);
        return {};
      },
    }),
  ));

/**
 * Emscripten's factory takes a Worker with nodejs_compat for Node and reads `__filename` and `__dirname` (for a directory it
 * never uses here: the module is handed over), which only the test pool's module runner defines; under wrangler dev and in
 * production the bare `__dirname` threw and every query was a 500. They are lent for that synchronous start and taken back.
 */
function withScriptPath<T>(start: () => T): T {
  const scope = globalThis as { __filename?: unknown; __dirname?: unknown };
  const lent = (["__filename", "__dirname"] as const).filter((name) => scope[name] === undefined);
  for (const name of lent) Object.defineProperty(globalThis, name, { value: "/", configurable: true });
  try {
    return start();
  } finally {
    for (const name of lent) delete scope[name];
  }
}

/** The statements of `sql` as PostgreSQL 18 parses them, or the syntax error it reports. */
export async function parseSql(sql: string): Promise<{ statements: RawStatement[] } | { error: ParseError }> {
  const pg = await parser();
  const size = pg.lengthBytesUTF8(sql) + 1;
  const text = pg._malloc(size);
  let result = 0;
  try {
    pg.stringToUTF8(sql, text, size);
    result = pg._wasm_parse_query_raw(text);
    if (!result) throw new Error("libpg_query could not allocate a parse result");
    const tree = pg.getValue(result, "i32");
    const error = pg.getValue(result + 8, "i32");
    if (error) {
      const message = pg.getValue(error, "i32");
      const cursor = pg.getValue(error + 16, "i32");
      return { error: { message: message ? pg.UTF8ToString(message) : "syntax error", position: cursor > 0 ? cursor - 1 : undefined } };
    }
    const parsed = JSON.parse(pg.UTF8ToString(tree)) as { stmts?: RawStatement[] };
    return { statements: parsed.stmts ?? [] };
  } finally {
    pg._free(text);
    if (result) pg._wasm_free_parse_result(result);
  }
}
