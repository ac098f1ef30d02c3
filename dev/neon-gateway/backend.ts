// The contract every Postgres backend behind the local Neon gateway fulfils.

/** One statement as the Neon driver sends it: text plus already-serialized parameters. */
export interface SqlQuery {
  query: string;
  params: (string | null)[];
}

export interface SqlField {
  name: string;
  dataTypeID: number;
  tableID: number;
  columnID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  format: string;
}

/** A result with every value in Postgres text format, as `Neon-Raw-Text-Output` asks. */
export interface SqlResult {
  command: string;
  rowCount: number | null;
  fields: SqlField[];
  rows: (string | null)[][];
}

export type IsolationLevel = "ReadUncommitted" | "ReadCommitted" | "RepeatableRead" | "Serializable";

export interface TransactionOptions {
  isolationLevel?: IsolationLevel;
  readOnly?: boolean;
  deferrable?: boolean;
}

export interface SqlBackend {
  readonly kind: "pglite" | "postgres";
  query(query: SqlQuery): Promise<SqlResult>;
  /** Runs every query in one transaction: all results, or the first error and nothing written. */
  transaction(queries: SqlQuery[], options: TransactionOptions): Promise<SqlResult[]>;
  close(): Promise<void>;
}

const isolationSql: Record<IsolationLevel, string> = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

/** The `BEGIN` modes (for `SET TRANSACTION`) that the Neon-Batch-* headers ask for, or null. */
export function transactionModes(options: TransactionOptions): string | null {
  const modes: string[] = [];
  if (options.isolationLevel) modes.push(`ISOLATION LEVEL ${isolationSql[options.isolationLevel]}`);
  if (options.readOnly !== undefined) modes.push(options.readOnly ? "READ ONLY" : "READ WRITE");
  if (options.deferrable !== undefined) modes.push(options.deferrable ? "DEFERRABLE" : "NOT DEFERRABLE");
  return modes.length > 0 ? modes.join(", ") : null;
}

export const isolationLevels = Object.keys(isolationSql) as IsolationLevel[];
