// Test helpers for the dataset loads: upload through the API, wait for the store to settle, read the store, deliver load messages.
import { createExecutionContext, createMessageBatch, env, getQueueResult, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../../src/index.ts";
import { type StoreKey, storeFor } from "../../src/services/dataset-store/stub.ts";
import { checkedFetch, BASE, call, json, randomIp, type Person } from "./harness.ts";
import { backoff } from "./eventually.ts";

export interface DatasetBody {
  id: string;
  projectId: string;
  sha256: string;
  rowCount: number;
  query: { status: string; rows: number | null; loadedAt: string | null; error: string | null };
  profile: { columns: { name: string; type: string }[] };
}

export async function newProject(who: Person, name = "Store"): Promise<string> {
  return (await json<{ id: string }>(await call("/api/v1/projects", { method: "POST", token: who.token, body: { name } }), 201)).id;
}

/** Uploads `body` as the raw request body; expects `status` (201 new, 200 same bytes). */
export async function upload(
  who: Person,
  projectId: string,
  body: string,
  { type = "text/csv", name = "data", status = 201 } = {},
): Promise<DatasetBody> {
  const response = await checkedFetch(`${BASE}/api/v1/projects/${projectId}/datasets?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "Content-Type": type, "CF-Connecting-IP": randomIp() },
    body,
  });
  return json<DatasetBody>(response, status);
}

export const getDataset = async (who: Person, id: string) =>
  json<DatasetBody>(await call(`/api/v1/datasets/${id}`, { token: who.token }), 200);

/** Polls the dataset until its store is ready or failed (the queue delivers within a second or so; the bound is generous). */
export async function settled(who: Person, id: string, timeoutMs = 45_000): Promise<DatasetBody> {
  const started = Date.now();
  const pause = backoff(100);
  for (;;) {
    const dataset = await getDataset(who, id);
    if (dataset.query.status === "ready" || dataset.query.status === "failed") return dataset;
    expect(Date.now() - started, `dataset ${id} still ${dataset.query.status}`).toBeLessThan(timeoutMs);
    await pause();
  }
}

type Key = { id: string; sha256: string; orgId?: string; organizationId?: string; parseOptions?: StoreKey["parseOptions"] };

/** Runs `fn` on the store's own SQLite, inside the object. */
export function inStore<T>(dataset: Key, fn: (sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(storeFor(env, dataset), (_instance, state: DurableObjectState) => fn(state.storage.sql));
}

export const storeRows = <T = Record<string, SqlStorageValue>>(dataset: Key, query: string, ...params: SqlStorageValue[]) =>
  inStore(dataset, (sql) => sql.exec(query, ...params).toArray() as T[]);

export const hasTable = (dataset: Key) =>
  inStore(dataset, (sql) => sql.exec(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'dataset'`).one().n === 1);

/** Delivers messages to a load queue's consumer directly, as the real queue would. */
export async function deliver(queue: "datacrafted-dataset-loads" | "datacrafted-dataset-loads-dlq", bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({ id: `load-${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}
