// Embedded Postgres (PGlite) behind the Neon gateway: in memory, or persisted in a folder.
import { PGlite, type Transaction } from "@electric-sql/pglite";
import type { SqlBackend, SqlQuery, SqlResult, TransactionOptions } from "./backend.ts";
import { transactionModes } from "./backend.ts";

type Codec = Record<number, (value: string) => string>;

/**
 * PGlite parses and serializes values by type OID. The Neon wire format wants Postgres text
 * both ways, so every known OID gets an identity codec (refreshed after DDL adds types).
 */
async function identityCodec(db: PGlite): Promise<Codec> {
  const { rows } = await db.query<{ oid: number }>("SELECT oid::int AS oid FROM pg_type");
  const identity = (value: string) => value;
  return Object.fromEntries(rows.map((row) => [row.oid, identity]));
}

const ddlCommands = new Set(["CREATE", "ALTER", "DROP"]);

export async function createPgliteBackend(dataDir?: string): Promise<SqlBackend> {
  const db = await PGlite.create(dataDir);
  let codec = await identityCodec(db);

  const run = async (target: PGlite | Transaction, { query, params }: SqlQuery): Promise<SqlResult> => {
    const result = await target.query<unknown[]>(query, params, {
      rowMode: "array",
      parsers: codec,
      serializers: codec,
    });
    const command = (result as { command?: string }).command ?? "";
    return {
      command,
      rowCount: (result as { rowCount?: number }).rowCount ?? result.affectedRows ?? null,
      fields: result.fields.map((field) => ({
        name: field.name,
        dataTypeID: field.dataTypeID,
        tableID: 0,
        columnID: 0,
        dataTypeSize: -1,
        dataTypeModifier: -1,
        format: "text",
      })),
      rows: result.rows as (string | null)[][],
    };
  };

  const afterDdl = async (results: SqlResult[]) => {
    if (results.some((result) => ddlCommands.has(result.command))) codec = await identityCodec(db);
  };

  return {
    kind: "pglite",
    async query(query) {
      const result = await run(db, query);
      await afterDdl([result]);
      return result;
    },
    async transaction(queries, options: TransactionOptions) {
      const modes = transactionModes(options);
      const results = await db.transaction(async (tx) => {
        if (modes) await tx.query(`SET TRANSACTION ${modes}`);
        const out: SqlResult[] = [];
        for (const query of queries) out.push(await run(tx, query));
        return out;
      });
      await afterDdl(results);
      return results;
    },
    close: () => db.close(),
  };
}
