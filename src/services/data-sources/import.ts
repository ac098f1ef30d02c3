// Import rows from a data source as a dataset version: serialized as NDJSON through the upload pipeline (R2, profile, same row).
import type { Context } from "hono";
import type { AppEnv } from "../../lib/types.ts";
import { principalOf } from "../../lib/principal.ts";
import { type DataSource, type Project, requireProject } from "../../lib/tenancy.ts";
import type { Database } from "../../db/client.ts";
import type { RefreshRequest } from "../../db/schema.ts";
import { type Param, queryAll } from "./postgres.ts";
import { collectKeys } from "./redis-browse.ts";
import { postgresTarget, redisTarget } from "./registry.ts";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { queueDatasetLoad } from "../../queues/dataset-loads/enqueue.ts";
import { ingest } from "../datasets/ingest.ts";
import { overridesOf, ProjectGoneError, saveDataset } from "../datasets/store.ts";
import { ApiError } from "../../lib/problem.ts";
import { sendUsage } from "../usage/record.ts";

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

/** What an import needs besides its rows: a request's services, or the cron's. */
export interface ImportDeps {
  db: Database;
  config: Config;
  logger: Logger;
}

/**
 * Saves `rows` as the next version of dataset `name` in project `projectId` (the caller needs
 * datasets:write there): the same pipeline as an upload, so it is profiled and readable back.
 */
export async function importRows(c: Context<AppEnv>, projectId: string, name: string, rows: Record<string, unknown>[]) {
  const { project } = await requireProject(c, projectId, "datasets:write");
  const deps = { db: c.get("services").db, config: c.get("config"), logger: c.get("logger") };
  return importInto(deps, project, name, rows, principalOf(c).userId);
}

/** importRows once the project is known to be the caller's (a request checked it, or the cron runs a saved import). */
export async function importInto(
  { db, config, logger }: ImportDeps,
  project: Pick<Project, "id" | "orgId">,
  name: string,
  rows: Record<string, unknown>[],
  userId: string | null,
) {
  const id = crypto.randomUUID();
  const key = `datasets/${project.orgId}/${project.id}/${id}`;
  const types = await overridesOf(db, project.id, name);
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
  const dataset = await saveDataset(db, config.DATASETS, {
    id,
    project: project as Project,
    name,
    format: "ndjson",
    key,
    ingested,
    userId,
  }).catch((error: unknown) => {
    // The project was deleted while the rows were on their way, as an upload answers it (saveDataset removed the R2 object).
    if (error instanceof ProjectGoneError) throw new ApiError(404, { detail: "No project with this id is visible to you." });
    throw error;
  });
  if (dataset.id !== id) await config.DATASETS.delete(key);
  // Storage is counted here for requests and the cron's refreshes alike (a queue send, no Postgres round trip).
  else await sendUsage(config, logger, project.orgId, { storageBytes: dataset.sizeBytes });
  await queueDatasetLoad(config, logger, dataset);
  return { dataset, created: dataset.id === id };
}

/** The rows a saved import reads (the same reads as POST …/import and …/import-keys). */
export async function refreshRows(config: Config, source: DataSource, request: RefreshRequest): Promise<Record<string, unknown>[]> {
  if (request.kind === "postgres") return postgresRows(config, source, request.sql);
  return collectKeys(await redisTarget(config, source), { keys: request.keys, match: request.match, maxKeys: request.maxKeys });
}

/** A read-only query's whole result (at most DATA_SOURCE_IMPORT_MAX_ROWS rows) as records, its column names made unique. */
export async function postgresRows(config: Config, source: DataSource, sql: string, traceparent?: string, params: Param[] = []) {
  const result = await queryAll(await postgresTarget(config, source, traceparent), sql, config.DATA_SOURCE_IMPORT_MAX_ROWS, params);
  const columns = uniqueNames(result.columns);
  return result.rows.map((row) => Object.fromEntries(columns.map((column, i) => [column, row[i] ?? null])));
}
