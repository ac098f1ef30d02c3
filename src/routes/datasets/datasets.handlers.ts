// Datasets: streamed upload with profiling, reads, a rows preview from R2, the reject report, versions, soft delete.
import { and, asc, count, desc, eq, gt, inArray, isNotNull, isNull, notExists, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { datasetRejectedRows, datasets, resumableUploads } from "../../db/schema.ts";
import { etagOf, etagged, expectedVersion } from "../../lib/etag.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { ApiError } from "../../lib/problem.ts";
import { type Dataset, findDataset, requireDataset, requireProject } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { principalOf } from "../../lib/principal.ts";
import { queueDatasetLoad } from "../../queues/dataset-loads/enqueue.ts";
import { ingest, reprofile } from "../../services/datasets/ingest.ts";
import { JSON_DEPTH_CEILING } from "../../services/datasets/parsers.ts";
import { mergeOverrides } from "../../services/datasets/type-overrides.ts";
import { canonicalTypes } from "../../services/dataset-store/stub.ts";
import { NewerVersionError, overridesOf, ProjectGoneError, saveDataset } from "../../services/datasets/store.ts";
import { recordUsage } from "../../services/usage/record.ts";
import { boundaryOf, filePart } from "../../services/datasets/multipart.ts";
import type { Format } from "../../services/datasets/parsers.ts";
import { readRows } from "../../services/datasets/read-rows.ts";
import { pendingDataset, pendingStatus } from "../../services/uploads/pending-dataset.ts";
import { lastProgress } from "../../services/uploads/progress.ts";
import { DatasetName } from "./datasets.routes.ts";
import type * as routes from "./datasets.routes.ts";

/** The queryable copy's state (the DatasetStore, loaded by a queue job after the upload). */
const queryState = (d: Dataset) => ({
  status: d.queryStatus,
  rows: d.queryRows,
  loadedAt: d.queryLoadedAt?.toISOString() ?? null,
  error: d.queryError,
});

const summary = (d: Dataset) => ({
  id: d.id,
  projectId: d.projectId,
  name: d.name,
  version: d.version,
  format: d.format,
  encoding: d.parseOptions.encoding ?? "utf-8",
  status: d.status,
  sizeBytes: d.sizeBytes,
  sha256: d.sha256,
  rowCount: d.rowCount,
  columnCount: d.columnCount,
  onError: d.parseOptions.onError ?? "fail",
  rejectedCount: d.rejectedCount,
  createdBy: d.createdBy,
  createdAt: d.createdAt.toISOString(),
  query: queryState(d),
});

/** Postgres sorts jsonb keys; a profile reads better in its own order. */
export const full = (d: Dataset) => ({
  ...summary(d),
  profile: {
    rowCount: d.profile.rowCount,
    columns: d.profile.columns.map(
      ({ name, type, count, nulls, distinct, min, max, mean, stddev, quantiles, topValues, approximate, override }) => ({
        name,
        type,
        count,
        nulls,
        distinct,
        min,
        max,
        mean,
        stddev,
        quantiles,
        topValues,
        ...(approximate ? { approximate: { distinct: approximate.distinct, quantiles: approximate.quantiles } } : {}),
        ...(override
          ? { override: { type: override.type, format: override.format, unfit: override.unfit, examples: override.examples } }
          : {}),
      }),
    ),
  },
  sample: d.sample,
});

export const byMediaType: Record<string, Format> = {
  "text/csv": "csv",
  "application/csv": "csv",
  "text/tab-separated-values": "csv",
  "application/json": "json",
  "application/x-ndjson": "ndjson",
  "application/ndjson": "ndjson",
  "application/jsonl": "ndjson",
  "application/x-jsonlines": "ndjson",
  "application/vnd.apache.parquet": "parquet",
  "application/x-parquet": "parquet",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
};
export const byExtension: Record<string, Format> = {
  csv: "csv",
  tsv: "csv",
  txt: "csv",
  json: "json",
  ndjson: "ndjson",
  jsonl: "ndjson",
  parquet: "parquet",
  xlsx: "xlsx",
};

export const mediaType = (header: string | null | undefined) => header?.split(";")[0]?.trim().toLowerCase() ?? "";
export const extension = (filename: string | null) => filename?.split(".").pop()?.toLowerCase() ?? "";

/**
 * The name from the query, else the multipart `name` field, else the file name (cut to 200 characters). The last two
 * never met zod, so they meet the same schema here: NUL in either is a 400, as it is in the query.
 */
async function nameOf(stream: ReadableStream, fromQuery: string | undefined, field: string | undefined, filename: string | null) {
  if (fromQuery !== undefined) return fromQuery;
  const fromFile = filename
    ?.replace(/\.[^.]+$/, "")
    .slice(0, 200)
    .trim();
  const candidate = field ?? (fromFile || undefined);
  if (candidate === undefined) return "dataset";
  const parsed = DatasetName.safeParse(candidate);
  if (parsed.success) return parsed.data;
  await stream.cancel().catch(() => {});
  throw new ApiError(400, {
    code: "VALIDATION_FAILED",
    detail: "The request has 1 invalid field.",
    errors: [{ path: field !== undefined ? "body.name" : "body.file", message: parsed.error.issues[0]?.message ?? "Invalid name" }],
  });
}

export const upload: AppRouteHandler<typeof routes.upload> = async (c) => {
  const { id } = c.req.valid("param");
  const query = c.req.valid("query");
  const { project } = await requireProject(c, id, "datasets:write");
  const config = c.get("config");
  const length = c.req.header("Content-Length");
  // workerd refuses a malformed Content-Length itself (a plain-text 400) before the app runs; this is for any runtime that does not.
  if (length !== undefined && !/^\s*\d+\s*$/.test(length))
    throw new ApiError(400, { code: "BAD_REQUEST", detail: "The Content-Length header is not a byte count." });
  const declared = Number(length ?? Number.NaN);
  if (declared > config.MAX_UPLOAD_BYTES) {
    throw new ApiError(413, { code: "UPLOAD_TOO_LARGE", detail: `The file is larger than the limit of ${config.MAX_UPLOAD_BYTES} bytes.` });
  }
  const body = c.req.raw.body;
  if (!body || declared === 0) throw new ApiError(422, { code: "EMPTY_FILE", detail: "The request has no file in its body." });

  let stream = body;
  let type = mediaType(c.req.header("Content-Type"));
  let filename: string | null = null;
  let fieldName: string | undefined;
  if (type === "multipart/form-data") {
    const part = await filePart(body, boundaryOf(c.req.header("Content-Type")!));
    ({ stream, filename } = part);
    type = mediaType(part.contentType);
    fieldName = part.fields.name;
  }
  const format = query.format ?? byMediaType[type] ?? byExtension[extension(filename)] ?? (type === "text/plain" ? "csv" : undefined);
  if (!format) {
    await stream.cancel().catch(() => {});
    throw new ApiError(415, {
      detail: `Upload CSV (text/csv), JSON (application/json, an array of objects), NDJSON (application/x-ndjson), Parquet (application/vnd.apache.parquet) or Excel (.xlsx), raw or as multipart/form-data; got ${type || "no Content-Type"}.`,
    });
  }
  const name = await nameOf(stream, query.name, fieldName, filename);
  const datasetId = crypto.randomUUID();
  const key = `datasets/${project.orgId}/${project.id}/${datasetId}`;
  // Only a skip is recorded in the parse options: a dataset without onError reads as every dataset before it did.
  // The name's type overrides (PATCH /datasets/{id}/schema) carry over to its next version.
  const types = await overridesOf(c.get("services").db, project.id, name);
  const parse = {
    format,
    encoding: query.encoding,
    ...(query.onError === "skip" ? { onError: "skip" as const } : {}),
    ...(types ? { types } : {}),
    ...(format === "xlsx" && query.sheet !== undefined ? { sheet: query.sheet } : {}),
  };
  const ingested = await ingest(stream, parse, config.DATASETS, key, type || "application/octet-stream", {
    maxBytes: config.MAX_UPLOAD_BYTES,
    maxRows: config.MAX_ROWS,
    maxColumns: config.MAX_COLUMNS,
    maxDepth: config.MAX_JSON_DEPTH,
    maxInflatedBytes: config.MAX_XLSX_INFLATED_BYTES,
  });

  const dataset = await saveDataset(c.get("services").db, config.DATASETS, {
    id: datasetId,
    project,
    name,
    format,
    key,
    ingested,
    userId: principalOf(c).userId,
  }).catch((error: unknown) => {
    // Deleted while the file was on its way: nothing was kept (saveDataset removed the R2 object).
    if (error instanceof ProjectGoneError) throw new ApiError(404, { detail: "No project with this id is visible to you." });
    throw error;
  });
  c.set("auditTarget", { type: "datasets", id: dataset.id });
  await queueDatasetLoad(config, c.get("logger"), dataset);
  if (dataset.id !== datasetId) {
    // The same bytes again: the dataset that has them, and no second copy in R2.
    await config.DATASETS.delete(key);
    c.header("Content-Location", `/api/v1/datasets/${dataset.id}`);
    return c.json(full(dataset), 200);
  }
  recordUsage(c, { storageBytes: dataset.sizeBytes });
  c.header("Location", `/api/v1/datasets/${datasetId}`);
  return c.json(full(dataset), 201);
};

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { id } = c.req.valid("param");
  const { limit, cursor, name, include } = c.req.valid("query");
  const page = keyset(datasets.createdAt, datasets.id, cursor);
  const { project } = await requireProject(c, id, "datasets:read");
  const { db } = c.get("services");
  const [rows, uploads] = await Promise.all([
    db
      .select()
      .from(datasets)
      .where(and(eq(datasets.projectId, project.id), isNull(datasets.deletedAt), name ? eq(datasets.name, name) : undefined, page.after))
      .orderBy(...page.order)
      .limit(limit + 1),
    include === "pending" ? pendingUploads(db, project.id, name, cursor, limit + 1) : [],
  ]);
  // Both pages are in the same keyset order: their merge's first limit + 1 are the union's.
  const items = [
    ...rows.map((row) => ({ at: row.createdAt, id: row.id, item: summary(row) as ReturnType<typeof summary> | Pending })),
    ...uploads.map((upload) => ({
      at: upload.createdAt,
      id: upload.reservedDatasetId!,
      item: pendingDataset(upload.reservedDatasetId!, upload, null),
    })),
  ].sort((a, b) => b.at.getTime() - a.at.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const { data, nextCursor } = toPage(c, items, limit, (entry) => ({ at: entry.at, id: entry.id }));
  return c.json({ data: data.map((entry) => entry.item), nextCursor }, 200);
};

type Pending = ReturnType<typeof pendingDataset>;

/**
 * The project's uploads whose datasets are not saved yet, in the list's keyset order by the id they reserved (uploads from
 * before that id was kept are left out). One whose dataset the job just saved is left to the datasets' page.
 */
function pendingUploads(db: Database, projectId: string, name: string | undefined, cursor: string | undefined, limit: number) {
  const page = keyset(resumableUploads.createdAt, resumableUploads.reservedDatasetId, cursor);
  return db
    .select()
    .from(resumableUploads)
    .where(
      and(
        eq(resumableUploads.projectId, projectId),
        inArray(resumableUploads.status, ["uploading", "processing", "failed"]),
        isNotNull(resumableUploads.reservedDatasetId),
        notExists(db.select({ id: datasets.id }).from(datasets).where(eq(datasets.id, resumableUploads.reservedDatasetId))),
        name ? eq(resumableUploads.name, name) : undefined,
        page.after,
      ),
    )
    .orderBy(...page.order)
    .limit(limit);
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const id = c.req.valid("param").id;
  const { dataset, upload } = await findDataset(c, id, "datasets:read");
  if (upload) {
    // Still on its way: it changes with every chunk and job step (its weak ETag, from the body, changes with it).
    c.header("Cache-Control", "no-store");
    const progress = pendingStatus(upload) === "processing" ? await lastProgress(c.get("config"), c.get("logger"), id) : null;
    return c.json(pendingDataset(id, upload, progress), 200);
  }
  // The upload's bytes were already this dataset: the reserved id says where they are.
  if (dataset.id !== id) return c.redirect(`/api/v1/datasets/${dataset.id}`, 303);
  // A dataset version never changes: its content hash is its ETag.
  return etagged(c, etagOf(dataset.sha256), () => c.json(full(dataset), 200));
};

export const rows: AppRouteHandler<typeof routes.rows> = async (c) => {
  const { offset, limit } = c.req.valid("query");
  const { dataset } = await requireDataset(c, c.req.valid("param").id, "datasets:read");
  const page =
    offset >= dataset.rowCount
      ? { columns: dataset.profile.columns.map((column) => column.name), rows: [] }
      : await readRows(c.get("config").DATASETS, dataset, offset, limit);
  if (!page) throw new ApiError(404, { detail: "The dataset's file is no longer stored." });
  return c.json({ ...page, offset, limit, total: dataset.rowCount }, 200);
};

export const versions: AppRouteHandler<typeof routes.versions> = async (c) => {
  const { dataset } = await requireDataset(c, c.req.valid("param").id, "datasets:read");
  const rows = await c
    .get("services")
    .db.select()
    .from(datasets)
    .where(and(eq(datasets.projectId, dataset.projectId), eq(datasets.name, dataset.name), isNull(datasets.deletedAt)))
    .orderBy(desc(datasets.version));
  return c.json({ data: rows.map(summary) }, 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { dataset } = await requireDataset(c, c.req.valid("param").id, "datasets:write");
  await c.get("services").db.update(datasets).set({ deletedAt: sql`now()` }).where(eq(datasets.id, dataset.id));
  return c.body(null, 204);
};

export const rejects: AppRouteHandler<typeof routes.rejects> = async (c) => {
  const { offset, limit } = c.req.valid("query");
  const { dataset } = await requireDataset(c, c.req.valid("param").id, "datasets:read");
  const { db } = c.get("services");
  const [rows, [listed]] = await Promise.all([
    db
      .select({
        line: datasetRejectedRows.line,
        column: datasetRejectedRows.column,
        reason: datasetRejectedRows.reason,
        raw: datasetRejectedRows.raw,
      })
      .from(datasetRejectedRows)
      .where(and(eq(datasetRejectedRows.datasetId, dataset.id), gt(datasetRejectedRows.position, offset)))
      .orderBy(asc(datasetRejectedRows.position))
      .limit(limit),
    db.select({ n: count() }).from(datasetRejectedRows).where(eq(datasetRejectedRows.datasetId, dataset.id)),
  ]);
  return c.json({ rejectedCount: dataset.rejectedCount, listed: listed?.n ?? 0, offset, limit, data: rows }, 200);
};

export const setSchema: AppRouteHandler<typeof routes.setSchema> = async (c) => {
  const { columns: changes } = c.req.valid("json");
  const { dataset } = await requireDataset(c, c.req.valid("param").id, "datasets:write");
  expectedVersion(c, dataset.sha256);
  const names = new Set(dataset.profile.columns.map((column) => column.name));
  const unknown = changes.filter((change) => !names.has(change.column));
  if (unknown.length > 0) {
    throw new ApiError(422, {
      code: "UNKNOWN_COLUMN",
      detail: `The dataset has no column ${unknown.map((change) => JSON.stringify(change.column)).join(", ")}.`,
      errors: unknown.map((change) => ({ path: `body.columns[${changes.indexOf(change)}].column`, message: "No such column" })),
    });
  }
  const types = mergeOverrides(dataset.parseOptions.types, changes as Parameters<typeof mergeOverrides>[1]);
  if (canonicalTypes(types) === canonicalTypes(dataset.parseOptions.types ?? [])) return c.json(full(dataset), 200);
  const { types: _old, ...rest } = dataset.parseOptions;
  const parse = types.length ? { ...rest, types } : rest;
  const config = c.get("config");
  const project = { id: dataset.projectId, orgId: dataset.orgId } as Parameters<typeof saveDataset>[2]["project"];
  const ingested = await reprofile(config.DATASETS, dataset, parse, {
    maxBytes: Number.MAX_SAFE_INTEGER,
    maxRows: Number.MAX_SAFE_INTEGER,
    maxColumns: Number.MAX_SAFE_INTEGER,
    maxDepth: parse.maxDepth ?? JSON_DEPTH_CEILING,
  });
  if (!ingested) throw new ApiError(404, { detail: "The dataset's file is no longer stored." });
  const id = crypto.randomUUID();
  const created = await saveDataset(c.get("services").db, config.DATASETS, {
    id,
    project,
    name: dataset.name,
    format: dataset.format,
    key: dataset.r2Key,
    ingested,
    userId: principalOf(c).userId,
    rereads: { version: dataset.version },
  }).catch((error: unknown) => {
    if (error instanceof NewerVersionError)
      throw new ApiError(412, { detail: "A newer version of this dataset exists (or it was deleted); set the types on the newest one." });
    throw error;
  });
  c.set("auditTarget", { type: "datasets", id: created.id });
  await queueDatasetLoad(config, c.get("logger"), created);
  c.header("Location", `/api/v1/datasets/${created.id}`);
  return c.json(full(created), 201);
};
