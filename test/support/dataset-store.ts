// Test helpers for DatasetStore: fill a store directly (the tables and _store_meta exactly as the store contract says), a sample table
// to query, and a checksum of everything the store holds, to show a refused statement changed nothing.
import { env, runInDurableObject } from "cloudflare:test";
import type { DatasetStore } from "../../src/durable-objects/dataset-store/dataset-store.ts";
import type { ColumnType } from "../../src/services/datasets/profile/types.ts";
import { storeFor } from "../../src/services/dataset-store/stub.ts";

export interface SeedColumn {
  name: string;
  type: ColumnType;
}

export type Cell = string | number | null;

const sqlType: Record<ColumnType, string> = { integer: "INTEGER", number: "REAL", boolean: "INTEGER", datetime: "TEXT", string: "TEXT" };
const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The store of dataset `id`, with `rows` in `dataset` and its `_store_meta` (status "ready" unless told). */
export async function seedStore(
  dataset: { id: string; sha256?: string; orgId?: string },
  columns: SeedColumn[],
  rows: Cell[][],
  { status = "ready" }: { status?: "pending" | "loading" | "ready" | "failed" } = {},
): Promise<DurableObjectStub<DatasetStore>> {
  // A store of its own: named by a made-up organization (and the id when no hash is given), so no real load shares it.
  const stub = storeFor(env, { id: dataset.id, orgId: dataset.orgId ?? "seeded", sha256: dataset.sha256 ?? dataset.id });
  await runInDurableObject(stub, (_instance: DatasetStore, state) => {
    const sql = state.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS _store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE dataset (${columns.map((column) => `${quote(column.name)} ${sqlType[column.type]}`).join(", ")})`);
    // A Durable Object's statement binds at most 100 values.
    const perInsert = Math.max(1, Math.floor(100 / columns.length));
    for (let at = 0; at < rows.length; at += perInsert) {
      const batch = rows.slice(at, at + perInsert);
      const tuple = `(${columns.map(() => "?").join(", ")})`;
      sql.exec(`INSERT INTO dataset VALUES ${batch.map(() => tuple).join(", ")}`, ...batch.flat());
    }
    const meta: Record<string, string> = {
      status,
      rows: String(rows.length),
      loadedAt: new Date().toISOString(),
      error: "",
      columns: JSON.stringify(columns),
      sha256: dataset.sha256 ?? "",
      datasetId: dataset.id,
    };
    for (const [key, value] of Object.entries(meta)) sql.exec(`INSERT OR REPLACE INTO _store_meta (key, value) VALUES (?, ?)`, key, value);
  });
  return stub;
}

/** SHA-256 of every row of `dataset` (with its rowid), of `_store_meta` and of the schema: equal before and after means unchanged. */
export async function storeChecksum(stub: DurableObjectStub<DatasetStore>): Promise<string> {
  const text = await runInDurableObject(stub, (_instance: DatasetStore, state) => {
    const sql = state.storage.sql;
    const rows = [...sql.exec(`SELECT rowid, * FROM dataset ORDER BY rowid`).raw()];
    const meta = [...sql.exec(`SELECT key, value FROM _store_meta ORDER BY key`).raw()];
    const schema = [...sql.exec(`SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name`).raw()];
    return JSON.stringify({ rows, meta, schema });
  });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A sales table: every type, nulls, and values chosen by a fixed rule so a test can compute any answer itself. */
export const salesColumns: SeedColumn[] = [
  { name: "id", type: "integer" },
  { name: "region", type: "string" },
  { name: "amount", type: "number" },
  { name: "paid", type: "boolean" },
  { name: "day", type: "datetime" },
  { name: "unit price", type: "number" },
];

export interface Sale {
  id: number;
  region: string;
  amount: number | null;
  paid: boolean;
  day: string;
  unitPrice: number;
}

export function sales(count: number): Sale[] {
  const regions = ["North", "South", "East", "West"];
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    region: regions[(i * 7) % 4]!,
    amount: i % 10 === 3 ? null : Math.round(((i * 37) % 1000) * 0.25 * 100) / 100,
    paid: i % 3 !== 0,
    day: new Date(Date.UTC(2026, 0, 1 + (i % 90))).toISOString(),
    unitPrice: (i % 13) + 0.5,
  }));
}

/** The rows as the store holds them (booleans 0/1). */
export const saleCells = (rows: Sale[]): Cell[][] =>
  rows.map((row) => [row.id, row.region, row.amount, row.paid ? 1 : 0, row.day, row.unitPrice]);

/** The same rows as a CSV file (dates as days, as a person would write them). */
export const salesCsv = (rows: Sale[]) =>
  [
    "id,region,amount,paid,day,unit price",
    ...rows.map((row) => [row.id, row.region, row.amount ?? "", row.paid, row.day.slice(0, 10), row.unitPrice].join(",")),
  ].join("\n");
