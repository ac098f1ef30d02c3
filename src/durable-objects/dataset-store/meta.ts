// The store's metadata table (_store_meta): status, rows, loadedAt, error, columns, sha256, datasetId (see the DatasetStore contract).
import type { StoreColumn } from "../../queues/dataset-loads/values.ts";

export type StoreStatus = "pending" | "loading" | "ready" | "failed";

export interface StoreMeta {
  status: StoreStatus;
  rows: number;
  loadedAt: string | null;
  error: string | null;
  columns: StoreColumn[];
  sha256: string | null;
  datasetId: string | null;
  /** Which load is writing the table (internal: each batch checks it is still the current one). */
  loadId: string | null;
  /** When the running load last wrote (internal: one silent for long was cut short). */
  heartbeat: string | null;
  /** The load across its segments (internal: a later segment presents it; `loadId` is the segment writing now). */
  load: string | null;
  /** The file offset the segment writing now started at (internal: an earlier segment delivered again is refused). */
  segmentByte: number;
}

type MetaKey =
  | "status"
  | "rows"
  | "loadedAt"
  | "error"
  | "columns"
  | "sha256"
  | "datasetId"
  | "loadId"
  | "heartbeat"
  | "load"
  | "segmentByte";

/** Every entry point calls this first: the table may be gone after deleteAll(). */
export function ensureMeta(sql: SqlStorage) {
  sql.exec(`CREATE TABLE IF NOT EXISTS _store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
}

export function readMeta(sql: SqlStorage): StoreMeta {
  ensureMeta(sql);
  const values = new Map<string, string>();
  for (const row of sql.exec<{ key: string; value: string }>(`SELECT key, value FROM _store_meta`)) values.set(row.key, row.value);
  return {
    status: (values.get("status") as StoreStatus | undefined) ?? "pending",
    rows: Number(values.get("rows") ?? 0),
    loadedAt: values.get("loadedAt") ?? null,
    error: values.get("error") ?? null,
    columns: JSON.parse(values.get("columns") ?? "[]") as StoreColumn[],
    sha256: values.get("sha256") ?? null,
    datasetId: values.get("datasetId") ?? null,
    loadId: values.get("loadId") ?? null,
    heartbeat: values.get("heartbeat") ?? null,
    load: values.get("load") ?? null,
    segmentByte: Number(values.get("segmentByte") ?? 0),
  };
}

/** Sets the keys given a string and deletes those given null. */
export function writeMeta(sql: SqlStorage, entries: Partial<Record<MetaKey, string | null>>) {
  for (const [key, value] of Object.entries(entries)) {
    if (value === null) sql.exec(`DELETE FROM _store_meta WHERE key = ?`, key);
    else if (value !== undefined)
      sql.exec(`INSERT INTO _store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }
}

export function currentLoadId(sql: SqlStorage): string | null {
  return sql.exec<{ value: string }>(`SELECT value FROM _store_meta WHERE key = 'loadId'`).toArray()[0]?.value ?? null;
}
