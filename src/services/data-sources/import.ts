// Import rows from a data source as a dataset version: serialized as NDJSON through the upload pipeline (R2, profile, same row).
import type { Context } from "hono";
import type { AppEnv } from "../../lib/types.ts";
import { principalOf } from "../../lib/principal.ts";
import { requireProject } from "../../lib/tenancy.ts";
import { queueDatasetLoad } from "../../queues/dataset-loads/enqueue.ts";
import { ingest } from "../datasets/ingest.ts";
import { overridesOf, saveDataset } from "../datasets/store.ts";

/** Column names made unique (`a`, `a_2`…): a query may return two columns of one name. */
export function uniqueNames(columns: string[]): string[] {
  const seen = new Map<string, number>();
  return columns.map((name) => {
    const base = name || "column";
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}_${n}`;
  });
}

/** NDJSON, a chunk of rows at a time, so no second copy of the whole result is built. */
function ndjson(rows: Record<string, unknown>[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= rows.length) return controller.close();
      const chunk = rows.slice(at, at + 1_000);
      at += chunk.length;
      controller.enqueue(encoder.encode(chunk.map((row) => JSON.stringify(row)).join("\n") + "\n"));
    },
  });
}

/**
 * Saves `rows` as the next version of dataset `name` in project `projectId` (the caller needs
 * datasets:write there): the same pipeline as an upload, so it is profiled and readable back.
 */
export async function importRows(c: Context<AppEnv>, projectId: string, name: string, rows: Record<string, unknown>[]) {
  const { project } = await requireProject(c, projectId, "datasets:write");
  const config = c.get("config");
  const id = crypto.randomUUID();
  const key = `datasets/${project.orgId}/${project.id}/${id}`;
  const types = await overridesOf(c.get("services").db, project.id, name);
  const ingested = await ingest(
    ndjson(rows),
    { format: "ndjson", ...(types ? { types } : {}) },
    config.DATASETS,
    key,
    "application/x-ndjson",
    {
      maxBytes: config.MAX_UPLOAD_BYTES,
      maxRows: config.MAX_ROWS,
      maxColumns: config.MAX_COLUMNS,
      maxDepth: config.MAX_JSON_DEPTH,
    },
  );
  const dataset = await saveDataset(c.get("services").db, config.DATASETS, {
    id,
    project,
    name,
    format: "ndjson",
    key,
    ingested,
    userId: principalOf(c).userId,
  });
  if (dataset.id !== id) await config.DATASETS.delete(key);
  await queueDatasetLoad(config, c.get("logger"), dataset);
  return { dataset, created: dataset.id === id };
}
