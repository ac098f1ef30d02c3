// TypeScript types for one schema of a Postgres source: a `Database` interface in the shape Supabase's generator uses
// (Tables with Row/Insert/Update, Views, Enums, CompositeTypes), so the same client code reads it.
import type { TypeCatalog, TypedColumn } from "./postgres-catalog.ts";

/** Scalar types by name, as JSON clients see them (postgres-meta's mapping: numbers for every numeric type). */
const scalars: Record<string, string> = {
  bool: "boolean",
  int2: "number",
  int4: "number",
  int8: "number",
  float4: "number",
  float8: "number",
  numeric: "number",
  oid: "number",
  json: "Json",
  jsonb: "Json",
  void: "undefined",
  record: "Record<string, unknown>",
};
const strings = new Set([
  "text",
  "varchar",
  "bpchar",
  "char",
  "name",
  "citext",
  "uuid",
  "date",
  "time",
  "timetz",
  "timestamp",
  "timestamptz",
  "interval",
  "bytea",
  "inet",
  "cidr",
  "macaddr",
  "macaddr8",
  "money",
  "bit",
  "varbit",
  "tsvector",
  "tsquery",
  "xml",
  "point",
  "line",
  "lseg",
  "box",
  "path",
  "polygon",
  "circle",
  "int4range",
  "int8range",
  "numrange",
  "tsrange",
  "tstzrange",
  "daterange",
  "regclass",
  "regtype",
  "regproc",
]);

/** A key or string literal, quoted as JSON quotes it (valid TypeScript for any identifier Postgres allows). */
const quote = (text: string) => JSON.stringify(text);

type Typed = Pick<TypedColumn, "type" | "typtype" | "typeSchema" | "base">;

/** The TypeScript of one Postgres type in schema `schema`'s file. */
function tsType(catalog: TypeCatalog, typed: Typed, composites: Set<string>): string {
  if (typed.typtype === "e") {
    if (typed.typeSchema === catalog.schema) return `Database[${quote(catalog.schema)}]["Enums"][${quote(typed.type)}]`;
    const values = catalog.enums.find((e) => e.schema === typed.typeSchema && e.name === typed.type)?.values ?? [];
    return values.length > 0 ? values.map(quote).join(" | ") : "string";
  }
  if (typed.typtype === "c") {
    return typed.typeSchema === catalog.schema && composites.has(typed.type)
      ? `Database[${quote(catalog.schema)}]["CompositeTypes"][${quote(typed.type)}]`
      : "unknown";
  }
  const name = typed.typtype === "d" && typed.base ? typed.base : typed.type;
  return scalars[name] ?? (strings.has(name) ? "string" : "unknown");
}

function columnType(catalog: TypeCatalog, column: TypedColumn, composites: Set<string>): string {
  const inner = column.element ? `(${tsType(catalog, column.element, composites)})[]` : tsType(catalog, column, composites);
  return column.nullable ? `${inner} | null` : inner;
}

const indent = (depth: number) => "  ".repeat(depth);
const none = "{ [_ in never]: never }";

/** `{ "a": T; … }` over `fields`, or the empty record. */
function record(fields: string[], depth: number): string {
  if (fields.length === 0) return none;
  return `{\n${fields.map((field) => `${indent(depth + 1)}${field};`).join("\n")}\n${indent(depth)}}`;
}

/** The file: `Json`, `Database` and nothing else; every name quoted, so odd identifiers stay valid. */
export function typescriptTypes(catalog: TypeCatalog): string {
  const composites = new Set(catalog.composites.map((c) => c.name));
  const type = (column: TypedColumn) => columnType(catalog, column, composites);
  const row = (columns: TypedColumn[], depth: number) =>
    record(
      columns.map((c) => `${quote(c.name)}: ${type(c)}`),
      depth,
    );
  const insert = (columns: TypedColumn[], depth: number) =>
    record(
      columns.map((c) => (c.generated ? `${quote(c.name)}?: never` : `${quote(c.name)}${c.optional ? "?" : ""}: ${type(c)}`)),
      depth,
    );
  const update = (columns: TypedColumn[], depth: number) =>
    record(
      columns.map((c) => (c.generated ? `${quote(c.name)}?: never` : `${quote(c.name)}?: ${type(c)}`)),
      depth,
    );
  const tables = catalog.relations.filter((r) => r.kind === "table");
  const views = catalog.relations.filter((r) => r.kind === "view");
  const tableTypes = tables.map(
    (t) =>
      `${quote(t.name)}: ${record([`Row: ${row(t.columns, 5)}`, `Insert: ${insert(t.columns, 5)}`, `Update: ${update(t.columns, 5)}`], 4)}`,
  );
  const viewTypes = views.map((v) => `${quote(v.name)}: ${record([`Row: ${row(v.columns, 5)}`], 4)}`);
  const enumTypes = catalog.enums
    .filter((e) => e.schema === catalog.schema)
    .map((e) => `${quote(e.name)}: ${e.values.length > 0 ? e.values.map(quote).join(" | ") : "never"}`);
  const compositeTypes = catalog.composites.map((c) => `${quote(c.name)}: ${row(c.attributes, 4)}`);
  const schema = record(
    [
      `Tables: ${record(tableTypes, 3)}`,
      `Views: ${record(viewTypes, 3)}`,
      `Enums: ${record(enumTypes, 3)}`,
      `CompositeTypes: ${record(compositeTypes, 3)}`,
    ],
    2,
  );
  return [
    `// Types of schema ${quote(catalog.schema)}, generated from the database's catalog. Nullable columns are \`| null\`;`,
    "// numeric and bigint columns are typed as number, as JSON clients of Postgres (PostgREST, Supabase) read them.",
    "export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[];",
    "",
    `export interface Database ${record([`${quote(catalog.schema)}: ${schema}`], 0)}`,
    "",
  ].join("\n");
}
