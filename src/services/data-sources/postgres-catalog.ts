// A Postgres source's catalog, one object kind at a time (tables, views, functions, types, policies, triggers, foreign
// tables, extensions, publications), read from pg_catalog in a read-only transaction and paged by name.
import { base64url, fromBase64url } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/problem.ts";
import { capBytes, readRows, type PostgresTarget } from "./postgres.ts";

export const catalogKinds = [
  "tables",
  "views",
  "functions",
  "types",
  "policies",
  "triggers",
  "foreign-tables",
  "extensions",
  "publications",
] as const;
export type CatalogKind = (typeof catalogKinds)[number];

/** The columns of relation `c` as a JSON array, in order. */
const columnsOf = (relation: string) => `coalesce((
  SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'nullable', NOT a.attnotnull,
                                    'default', pg_get_expr(d.adbin, d.adrelid), 'comment', col_description(a.attrelid, a.attnum)) ORDER BY a.attnum)
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attrelid = ${relation}.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]')`;

/** The names of `attnums` of relation `rel` as a JSON array, in the constraint's order. */
const attnames = (rel: string, attnums: string) =>
  `(SELECT json_agg(a.attname ORDER BY u.ord) FROM unnest(${attnums}) WITH ORDINALITY u(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = ${rel} AND a.attnum = u.attnum)`;

const action = (column: string) =>
  `CASE ${column} WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END`;

/**
 * Each kind's rows with a unique text `key` to order and page by; `$3` is the schema (the database-wide kinds have none).
 * Every JSON-building part is a correlated subquery, so one page is one statement whatever the transport.
 */
const sources: Record<CatalogKind, string> = {
  tables: `SELECT c.relname AS key, c.relname AS name,
      CASE c.relkind WHEN 'f' THEN 'foreign_table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view' ELSE 'table' END AS kind,
      greatest(c.reltuples, 0)::bigint::text AS "estimatedRows", obj_description(c.oid, 'pg_class') AS comment,
      c.relrowsecurity AS "rlsEnabled", c.relforcerowsecurity AS "rlsForced",
      ${columnsOf("c")} AS columns,
      (SELECT json_build_object('name', k.conname, 'columns', ${attnames("k.conrelid", "k.conkey")})
         FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p') AS "primaryKey",
      coalesce((SELECT json_agg(json_build_object('name', k.conname, 'columns', ${attnames("k.conrelid", "k.conkey")},
                  'referencedSchema', rn.nspname, 'referencedTable', r.relname, 'referencedColumns', ${attnames("k.confrelid", "k.confkey")},
                  'onUpdate', ${action("k.confupdtype")}, 'onDelete', ${action("k.confdeltype")}) ORDER BY k.conname)
         FROM pg_constraint k JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
         WHERE k.conrelid = c.oid AND k.contype = 'f'), '[]') AS "foreignKeys",
      coalesce((SELECT json_agg(json_build_object('name', i.relname, 'definition', pg_get_indexdef(x.indexrelid), 'unique', x.indisunique,
                  'primary', x.indisprimary) ORDER BY i.relname)
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), '[]') AS indexes
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $3 AND c.relkind IN ('r', 'p', 'f', 'v', 'm')`,
  views: `SELECT c.relname AS key, c.relname AS name, CASE c.relkind WHEN 'm' THEN 'materialized_view' ELSE 'view' END AS kind,
      pg_get_viewdef(c.oid, true) AS definition, CASE WHEN c.relkind = 'm' THEN c.relispopulated END AS populated,
      obj_description(c.oid, 'pg_class') AS comment, ${columnsOf("c")} AS columns
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $3 AND c.relkind IN ('v', 'm')`,
  functions: `SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS key, p.proname AS name,
      CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window' ELSE 'function' END AS kind,
      pg_get_function_identity_arguments(p.oid) AS arguments, pg_get_function_result(p.oid) AS "returns", l.lanname AS language,
      CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END AS volatility,
      p.prosecdef AS "securityDefiner", obj_description(p.oid, 'pg_proc') AS comment,
      (SELECT e.extname FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
         WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e') AS extension,
      CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END AS definition
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
    WHERE n.nspname = $3`,
  types: `SELECT t.typname AS key, t.typname AS name,
      CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' ELSE 'composite' END AS kind,
      CASE WHEN t.typtype = 'e' THEN (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) END AS "values",
      CASE WHEN t.typtype = 'c' THEN (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
         FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END AS attributes,
      CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS "baseType",
      obj_description(t.oid, 'pg_type') AS comment
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = $3
      AND (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c')))`,
  policies: `SELECT c.relname || '.' || p.polname AS key, p.polname AS name, c.relname AS "table",
      CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
      p.polpermissive AS permissive,
      CASE WHEN p.polroles = '{0}' THEN json_build_array('public')
           ELSE (SELECT json_agg(r.rolname ORDER BY r.rolname) FROM pg_roles r WHERE r.oid = ANY (p.polroles)) END AS roles,
      pg_get_expr(p.polqual, p.polrelid) AS "using", pg_get_expr(p.polwithcheck, p.polrelid) AS "withCheck"
    FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $3`,
  triggers: `SELECT c.relname || '.' || t.tgname AS key, t.tgname AS name, c.relname AS "table",
      CASE WHEN t.tgtype::int & 2 <> 0 THEN 'BEFORE' WHEN t.tgtype::int & 64 <> 0 THEN 'INSTEAD OF' ELSE 'AFTER' END AS timing,
      (SELECT json_agg(v.event ORDER BY v.bit) FROM (VALUES (4, 'INSERT'), (8, 'DELETE'), (16, 'UPDATE'), (32, 'TRUNCATE')) v(bit, event)
         WHERE t.tgtype::int & v.bit <> 0) AS events,
      CASE WHEN t.tgtype::int & 1 <> 0 THEN 'ROW' ELSE 'STATEMENT' END AS level,
      fn.nspname || '.' || f.proname AS "function", t.tgenabled <> 'D' AS enabled, pg_get_triggerdef(t.oid, true) AS definition
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_proc f ON f.oid = t.tgfoid JOIN pg_namespace fn ON fn.oid = f.pronamespace
    WHERE n.nspname = $3 AND NOT t.tgisinternal`,
  "foreign-tables": `SELECT c.relname AS key, c.relname AS name, s.srvname AS server, w.fdwname AS wrapper,
      coalesce(to_json(ft.ftoptions), '[]') AS options, ${columnsOf("c")} AS columns
    FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_foreign_server s ON s.oid = ft.ftserver JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
    WHERE n.nspname = $3`,
  extensions: `SELECT e.extname AS key, e.extname AS name, e.extversion AS version, n.nspname AS schema,
      a.default_version AS "defaultVersion", obj_description(e.oid, 'pg_extension') AS comment
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace LEFT JOIN pg_available_extensions a ON a.name = e.extname`,
  publications: `SELECT p.pubname AS key, p.pubname AS name, p.puballtables AS "allTables",
      json_build_object('insert', p.pubinsert, 'update', p.pubupdate, 'delete', p.pubdelete, 'truncate', p.pubtruncate) AS operations,
      CASE WHEN p.puballtables THEN '[]'::json ELSE coalesce((SELECT json_agg(json_build_object('schema', pt.schemaname, 'table', pt.tablename)
         ORDER BY pt.schemaname, pt.tablename) FROM pg_publication_tables pt WHERE pt.pubname = p.pubname), '[]') END AS tables
    FROM pg_publication p`,
};

/** The catalog's cursor: the last key of the page, opaque to clients. */
export const encodeNameCursor = (key: string) => base64url(new TextEncoder().encode(JSON.stringify([key])));

function decodeNameCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  try {
    const [key] = JSON.parse(new TextDecoder().decode(fromBase64url(cursor))) as unknown[];
    if (typeof key !== "string") throw new Error("shape");
    return key;
  } catch {
    throw new ApiError(400, {
      code: "VALIDATION_FAILED",
      detail: "The cursor is not one this API issued.",
      errors: [{ path: "query.cursor", message: "Invalid cursor" }],
    });
  }
}

/** The statement that reads a page of `kind` after key `after`: `limit + 1` rows, so the caller knows whether more follow. */
export const catalogStatement = (kind: CatalogKind, schema: string | null, after: string | null, limit: number) => ({
  text: `SELECT * FROM (${sources[kind]}) item WHERE $1::text IS NULL OR item.key COLLATE "C" > $1::text
         ORDER BY item.key COLLATE "C" LIMIT $2::int`,
  params: schema === null ? [after, limit + 1] : [after, limit + 1, schema],
});

/**
 * One page of `kind` in `schema` (null for the database-wide kinds), ordered by name in byte order, cut to the byte limit.
 * `nextCursor` continues after the last item kept.
 */
export async function catalogPage(
  target: PostgresTarget,
  kind: CatalogKind,
  schema: string | null,
  { limit, cursor }: { limit: number; cursor?: string },
): Promise<{ data: Record<string, unknown>[]; nextCursor: string | null }> {
  const after = decodeNameCursor(cursor);
  const [rows = []] = await readRows(target, [catalogStatement(kind, schema, after, limit)]);
  const page = capBytes(rows.slice(0, limit), target.maxBytes);
  const more = page.length < rows.length;
  const data = page.map(({ key: _key, ...item }) =>
    "estimatedRows" in item ? { ...item, estimatedRows: Number(item.estimatedRows) } : item,
  );
  return { data, nextCursor: more && page.length > 0 ? encodeNameCursor(String(page.at(-1)!.key)) : null };
}

/** A column or attribute as type generation needs it: its type's name, kind (typtype) and schema, and its array element's. */
export interface TypedColumn {
  name: string;
  type: string;
  typtype: string;
  typeSchema: string;
  element: { type: string; typtype: string; typeSchema: string; base: string | null } | null;
  /** A domain's base type name. */
  base: string | null;
  nullable: boolean;
  /** Has a default, is an identity or is generated: an insert may leave it out. */
  optional: boolean;
  /** Generated: an insert or update may not set it. */
  generated: boolean;
}

export interface TypeCatalog {
  schema: string;
  relations: { name: string; kind: "table" | "view"; columns: TypedColumn[] }[];
  enums: { schema: string; name: string; values: string[] }[];
  composites: { name: string; attributes: TypedColumn[] }[];
}

/** The typed columns of relation `oid` (an expression), as JSON. */
const typedColumns = (oid: string) => `coalesce((
  SELECT json_agg(json_build_object('name', a.attname, 'type', t.typname, 'typtype', t.typtype, 'typeSchema', tn.nspname,
           'element', CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN json_build_object('type', et.typname, 'typtype', et.typtype,
             'typeSchema', etn.nspname, 'base', CASE WHEN et.typtype = 'd' THEN (SELECT b.typname FROM pg_type b WHERE b.oid = et.typbasetype) END) END,
           'base', CASE WHEN t.typtype = 'd' THEN (SELECT b.typname FROM pg_type b WHERE b.oid = t.typbasetype) END,
           'nullable', NOT a.attnotnull, 'optional', a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' OR NOT a.attnotnull,
           'generated', a.attgenerated <> '' OR a.attidentity = 'a') ORDER BY a.attnum)
  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace
  LEFT JOIN pg_type et ON et.oid = t.typelem LEFT JOIN pg_namespace etn ON etn.oid = et.typnamespace
  WHERE a.attrelid = ${oid} AND a.attnum > 0 AND NOT a.attisdropped), '[]')`;

/** One statement, one JSON document: what TypeScript types for `$1` are made of. Enums of every schema, for columns that use them. */
export const typeCatalogStatement = (schema: string) => ({
  text: `SELECT json_build_object(
    'schema', $1::text,
    'relations', coalesce((SELECT json_agg(json_build_object('name', c.relname,
        'kind', CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END, 'columns', ${typedColumns("c.oid")}) ORDER BY c.relname COLLATE "C")
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1::text AND c.relkind IN ('r', 'p', 'f', 'v', 'm')), '[]'),
    'enums', coalesce((SELECT json_agg(json_build_object('schema', n.nspname, 'name', t.typname,
        'values', (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)) ORDER BY t.typname COLLATE "C")
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e'), '[]'),
    'composites', coalesce((SELECT json_agg(json_build_object('name', t.typname, 'attributes', ${typedColumns("t.typrelid")}) ORDER BY t.typname COLLATE "C")
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_class c ON c.oid = t.typrelid
      WHERE n.nspname = $1::text AND t.typtype = 'c' AND c.relkind = 'c'), '[]')
  ) AS catalog`,
  params: [schema],
});

/** What types/typescript generates from; a schema that does not exist is a 404 rather than an empty file. */
export async function typeCatalog(target: PostgresTarget, schema: string): Promise<TypeCatalog> {
  const [[found] = [], [row] = []] = await readRows(target, [
    { text: "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1::text", params: [schema] },
    typeCatalogStatement(schema),
  ]);
  if (!found?.n) throw new ApiError(404, { detail: `The database has no schema "${schema}".` });
  return row!.catalog as unknown as TypeCatalog;
}
