// Types generated for a seeded schema (tables, a view, a materialized view, an enum, a composite type, arrays, identity and
// generated columns) compile with the TypeScript compiler, and a wrong use of them does not. In Node, where the compiler
// runs (workerd cannot load its 9 MB module): the catalog is read from the machine's Postgres with the same statement the
// route runs (typeCatalogStatement), and the route itself is tested in test/routes/data-source-postgres.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import pg from "pg";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TypeCatalog, typeCatalogStatement } from "../../src/services/data-sources/postgres-catalog.ts";
import { typescriptTypes } from "../../src/services/data-sources/postgres-typescript.ts";

const schema = `ts_types_${crypto.randomUUID().slice(0, 8)}`;
const client = new pg.Client({ connectionString: process.env.LOCAL_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres" });
let generated: string;

beforeAll(async () => {
  await client.connect();
  await client.query(`
    CREATE SCHEMA ${schema};
    CREATE TYPE ${schema}.status AS ENUM ('new', 'paid', 'it''s "odd"');
    CREATE TYPE ${schema}.address AS (street text, zip integer);
    CREATE TABLE ${schema}.customers (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, home ${schema}.address, tags text[] NOT NULL DEFAULT '{}',
      name_length integer GENERATED ALWAYS AS (length(name)) STORED
    );
    CREATE TABLE ${schema}.orders (
      id serial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES ${schema}.customers (id), status ${schema}.status NOT NULL DEFAULT 'new',
      total numeric(10, 2), meta jsonb, placed_at timestamptz NOT NULL DEFAULT now(), "Odd Name" boolean, history ${schema}.status[]
    );
    CREATE VIEW ${schema}.big_orders AS SELECT id, total, status FROM ${schema}.orders WHERE total > 100;
    CREATE MATERIALIZED VIEW ${schema}.order_totals AS SELECT status, sum(total) AS total FROM ${schema}.orders GROUP BY status;
  `);
  const statement = typeCatalogStatement(schema);
  const { rows } = await client.query<{ catalog: TypeCatalog }>(statement.text, statement.params);
  generated = typescriptTypes(rows[0]!.catalog);
});

afterAll(async () => {
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

/** The diagnostics of compiling `files` (in memory) with the standard library, strictly. */
function diagnostics(files: Record<string, string>): string[] {
  const options: ts.CompilerOptions = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, lib: ["lib.es2022.d.ts"], types: [] };
  const host = ts.createCompilerHost(options);
  const libDir = dirname(ts.getDefaultLibFilePath(options));
  host.getSourceFile = (name, language) => {
    const text = files[name] ?? (name.startsWith(libDir) ? readFileSync(name, "utf8") : undefined);
    return text === undefined ? undefined : ts.createSourceFile(name, text, language);
  };
  host.fileExists = (name) => name in files || (name.startsWith(libDir) && ts.sys.fileExists(name));
  host.readFile = (name) => files[name] ?? (name.startsWith(libDir) ? ts.sys.readFile(name) : undefined);
  host.getDefaultLibLocation = () => libDir;
  host.getDefaultLibFileName = (o) => join(libDir, ts.getDefaultLibFileName(o));
  const program = ts.createProgram(Object.keys(files), options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

const use = (body: string) => ({
  "/types.ts": generated,
  "/use.ts": `import type { Database } from "./types";\ntype S = Database[${JSON.stringify(schema)}];\n${body}\nexport {};\n`,
});

describe("generated TypeScript types", () => {
  it("compile on their own, and type a right use of every kind", () => {
    expect(diagnostics({ "/types.ts": generated })).toEqual([]);
    const right = `
      const row: S["Tables"]["orders"]["Row"] = {
        id: 1, customer_id: 2, status: "paid", total: 10.5, meta: { a: [1, "x", null] }, placed_at: "2026-01-01T00:00:00Z",
        "Odd Name": null, history: ["new", "it's \\"odd\\""],
      };
      const insert: S["Tables"]["orders"]["Insert"] = { customer_id: 2 };
      const update: S["Tables"]["orders"]["Update"] = { total: null };
      const customer: S["Tables"]["customers"]["Insert"] = { name: "Ada", home: { street: "Main", zip: null } };
      const view: S["Views"]["big_orders"]["Row"] = { id: null, total: null, status: null };
      const totals: S["Views"]["order_totals"]["Row"] = { status: "new", total: 3 };
      const status: S["Enums"]["status"] = "new";
      const tags: string[] = ({} as S["Tables"]["customers"]["Row"]).tags;
      void [row, insert, update, customer, view, totals, status, tags];`;
    expect(diagnostics(use(right))).toEqual([]);
  });

  it.each([
    ["a null in a NOT NULL column", `const r: S["Tables"]["orders"]["Row"]["customer_id"] = null; void r;`],
    ["a value outside the enum", `const s: S["Enums"]["status"] = "shipped"; void s;`],
    ["an insert missing a required column", `const i: S["Tables"]["orders"]["Insert"] = {}; void i;`],
    ["setting an identity ALWAYS column", `const i: S["Tables"]["customers"]["Insert"] = { name: "x", id: 1 }; void i;`],
    ["setting a generated column", `const u: S["Tables"]["customers"]["Update"] = { name_length: 3 }; void u;`],
    ["a string where a number is", `const t: S["Tables"]["orders"]["Row"]["total"] = "10.50"; void t;`],
    ["a column that does not exist", `const r = {} as S["Tables"]["orders"]["Row"]; void r.nope;`],
    ["a view as a table", `type T = S["Tables"]["big_orders"]; const t = {} as T; void t;`],
  ])("refuse %s", (_, body) => {
    expect(diagnostics(use(body)).length).toBeGreaterThan(0);
  });
});
