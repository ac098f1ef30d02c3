// A real Postgres server behind the Neon gateway, through node-postgres with parsing turned off.
import pg from "pg";
import type { SqlBackend, SqlQuery, SqlResult } from "./backend.ts";
import { transactionModes } from "./backend.ts";

/** Every value stays in Postgres text format, as `Neon-Raw-Text-Output` asks. */
const rawText = { getTypeParser: () => (value: string) => value };

export async function createPostgresBackend(connectionString: string): Promise<SqlBackend> {
  const pool = new pg.Pool({ connectionString, max: 10, connectionTimeoutMillis: 5_000 });
  // An idle client losing its connection must not crash the gateway; the next query reconnects.
  pool.on("error", () => {});
  await pool.query("SELECT 1");

  const run = async (client: pg.Pool | pg.PoolClient, { query, params }: SqlQuery): Promise<SqlResult> => {
    // Always the extended protocol, as Neon's own endpoint does: one statement per query, a second one is an error
    // (node-postgres would otherwise use the simple protocol for a query without parameters; its types omit queryMode).
    const config: pg.QueryArrayConfig & { queryMode: "extended" } = {
      text: query,
      values: params,
      rowMode: "array",
      types: rawText,
      queryMode: "extended",
    };
    const result = await client.query(config);
    return {
      command: result.command ?? "",
      rowCount: result.rowCount,
      fields: result.fields.map((field) => ({
        name: field.name,
        dataTypeID: field.dataTypeID,
        tableID: field.tableID,
        columnID: field.columnID,
        dataTypeSize: field.dataTypeSize,
        dataTypeModifier: field.dataTypeModifier,
        format: field.format,
      })),
      rows: result.rows as (string | null)[][],
    };
  };

  return {
    kind: "postgres",
    query: (query) => run(pool, query),
    async transaction(queries, options) {
      const client = await pool.connect();
      // A backend that dies mid-transaction (pg_terminate_backend) fails this request, not the whole gateway.
      let broken: Error | undefined;
      const ignore = (error: Error) => void (broken = error);
      client.on("error", ignore);
      try {
        const modes = transactionModes(options);
        await client.query(modes ? `BEGIN ${modes}` : "BEGIN");
        const results: SqlResult[] = [];
        for (const query of queries) results.push(await run(client, query));
        await client.query("COMMIT");
        return results;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.off("error", ignore);
        // A dead connection is destroyed rather than handed to the next request.
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
