// Resumable uploads (tus 1.0): create, append, offset and state, terminate; and a dataset's event stream.
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { type Format, formats } from "../../db/dataset-documents.ts";
import { resumableUploads } from "../../db/schema.ts";
import { describeError } from "../../lib/logger.ts";
import { principalOf } from "../../lib/principal.ts";
import { ApiError } from "../../lib/problem.ts";
import { findDataset, requireProject, requireUpload, type ResumableUpload } from "../../lib/tenancy.ts";
import type { AppEnv, AppRouteHandler } from "../../lib/types.ts";
import type { DatasetIngestMessage } from "../../queues/dataset-ingest/message.ts";
import { segmentable } from "../../queues/dataset-ingest/segments.ts";
import { ENCODINGS } from "../../services/datasets/encoding.ts";
import { appendChunk, discardUpload, pastLength } from "../../services/uploads/append.ts";
import { datasetRoom } from "../../services/uploads/progress.ts";
import {
  byteCount,
  CHUNK_TYPE,
  httpDate,
  metadataHeader,
  parseMetadata,
  requireTusResumable,
  TUS_VERSION,
  tooLargeForOneJob,
} from "../../services/uploads/tus.ts";
import { byExtension, byMediaType, extension, mediaType } from "../datasets/datasets.handlers.ts";
import { DatasetName } from "../datasets/datasets.routes.ts";
import type * as routes from "./uploads.routes.ts";

const state = (u: ResumableUpload) => ({
  id: u.id,
  projectId: u.projectId,
  datasetId: u.datasetId,
  name: u.name,
  format: u.format,
  length: u.length,
  offset: u.offset,
  status: u.status,
  error: u.error,
  metadata: u.metadata,
  expiresAt: u.expiresAt.toISOString(),
  createdAt: u.createdAt.toISOString(),
});

const offsetHeaders = (c: Context<AppEnv>, upload: ResumableUpload) => {
  c.header("Upload-Offset", String(upload.offset));
  c.header("Upload-Expires", httpDate(upload.expiresAt));
};

const invalid = (path: string, message: string) =>
  new ApiError(400, { code: "VALIDATION_FAILED", detail: "The request has 1 invalid field.", errors: [{ path, message }] });

/** A refused request still has its body read to the end or cancelled (wrangler's dev proxy drops a connection left mid-body). */
async function refusing<T>(c: Context<AppEnv>, run: () => Promise<T>): Promise<T> {
  c.header("Tus-Resumable", TUS_VERSION);
  try {
    return await run();
  } catch (error) {
    await c.req.raw.body?.cancel().catch(() => {});
    throw error;
  }
}

/** What the file is and how it is read, from Upload-Metadata (validated as the direct upload's query is). */
function describe(metadata: Record<string, string>) {
  const filename = metadata.filename ?? null;
  const contentType = metadata.filetype ?? metadata.contentType ?? "";
  const type = mediaType(contentType);
  const declared = metadata.format;
  if (declared !== undefined && !(formats as readonly string[]).includes(declared))
    throw invalid("header.upload-metadata.format", `must be one of ${formats.join(", ")}`);
  const format =
    (declared as Format | undefined) ??
    byMediaType[type] ??
    byExtension[extension(filename)] ??
    (type === "text/plain" ? "csv" : undefined);
  if (!format)
    throw new ApiError(415, {
      detail: `Upload CSV, JSON, NDJSON, Parquet or Excel (.xlsx): name it in Upload-Metadata's filetype (text/csv, application/json, application/x-ndjson, application/vnd.apache.parquet, the .xlsx type) or filename; got ${type || "neither"}.`,
    });
  const fromFile =
    filename
      ?.replace(/\.[^.]+$/, "")
      .slice(0, 200)
      .trim() || undefined;
  const name = DatasetName.safeParse(metadata.name ?? fromFile ?? "dataset");
  if (!name.success) throw invalid("header.upload-metadata.name", name.error.issues[0]?.message ?? "Invalid name");
  const encoding = metadata.encoding;
  if (encoding !== undefined && !(ENCODINGS as readonly string[]).includes(encoding))
    throw invalid("header.upload-metadata.encoding", `must be one of ${ENCODINGS.join(", ")}`);
  const onError = metadata.onError;
  if (onError !== undefined && onError !== "fail" && onError !== "skip")
    throw invalid("header.upload-metadata.onError", "must be fail or skip");
  return { format, name: name.data, contentType: type || "application/octet-stream" };
}

/** The request carries file bytes: none (no body, or an empty one), or a chunk of the tus media type (415 otherwise). */
function chunkOf(c: Context<AppEnv>, required: boolean): ReadableStream<Uint8Array> | null {
  const length = c.req.header("Content-Length");
  const body = c.req.raw.body;
  const empty = !body || length === "0";
  if (empty && !required) return null;
  if (mediaType(c.req.header("Content-Type")) !== CHUNK_TYPE)
    throw new ApiError(415, { detail: `A chunk is sent as Content-Type: ${CHUNK_TYPE}.` });
  return empty ? null : body;
}

/** The chunk's declared size must fit what is left of the upload (a body without Content-Length is counted as it streams). */
function refuseOversized(c: Context<AppEnv>, upload: ResumableUpload) {
  const declared = Number(c.req.header("Content-Length") ?? Number.NaN);
  if (upload.offset + declared > upload.length) throw pastLength(upload.length);
}

const expired = (upload: ResumableUpload) => upload.status === "uploading" && upload.expiresAt.getTime() <= Date.now();
const gone = () => new ApiError(410, { code: "UPLOAD_EXPIRED", detail: "The upload expired unfinished and was aborted; start a new one." });

/** The last byte is in: the job that profiles the file into a dataset. A send that fails is sent again by the cron. */
async function queueIngest(c: Context<AppEnv>, upload: ResumableUpload) {
  if (upload.status !== "processing") return;
  try {
    await c.get("config").DATASET_INGEST_QUEUE.send({ uploadId: upload.id } satisfies DatasetIngestMessage, { contentType: "json" });
  } catch (error) {
    c.get("logger").error("dataset ingest not queued", { uploadId: upload.id, ...describeError(error) });
  }
}

export const create: AppRouteHandler<typeof routes.create> = (c) =>
  refusing(c, async () => {
    const headers = c.req.valid("header");
    requireTusResumable(headers["tus-resumable"]);
    const { project } = await requireProject(c, c.req.valid("param").id, "datasets:write");
    const config = c.get("config");
    if (headers["upload-defer-length"] !== undefined)
      throw new ApiError(400, { code: "BAD_REQUEST", detail: "Upload-Defer-Length is not supported: send Upload-Length." });
    const length = byteCount(headers["upload-length"], "Upload-Length");
    if (length === undefined) throw new ApiError(400, { code: "BAD_REQUEST", detail: "Send Upload-Length: the file's size in bytes." });
    if (length > config.MAX_RESUMABLE_UPLOAD_BYTES)
      throw new ApiError(413, {
        code: "UPLOAD_TOO_LARGE",
        detail: `The file is larger than the limit of ${config.MAX_RESUMABLE_UPLOAD_BYTES} bytes.`,
        headers: { "Tus-Max-Size": String(config.MAX_RESUMABLE_UPLOAD_BYTES) },
      });
    if (length === 0) throw new ApiError(422, { code: "EMPTY_FILE", detail: "The file is empty." });
    const metadata = parseMetadata(headers["upload-metadata"]);
    const { format, name, contentType } = describe(metadata);
    if (!segmentable(format, metadata.encoding) && length > config.MAX_SINGLE_JOB_UPLOAD_BYTES) throw tooLargeForOneJob(format, config);
    const body = chunkOf(c, false);
    if (body && Number(c.req.header("Content-Length") ?? 0) > length) throw pastLength(length);

    const id = crypto.randomUUID();
    const datasetId = crypto.randomUUID();
    const key = `datasets/${project.orgId}/${project.id}/${datasetId}`;
    const multipart = await config.DATASETS.createMultipartUpload(key, { httpMetadata: { contentType } });
    let upload: ResumableUpload;
    try {
      [upload] = (await c
        .get("services")
        .db.insert(resumableUploads)
        .values({
          id,
          orgId: project.orgId,
          projectId: project.id,
          datasetId,
          reservedDatasetId: datasetId,
          name,
          format,
          contentType,
          metadata,
          length,
          r2Key: key,
          r2UploadId: multipart.uploadId,
          createdBy: principalOf(c).userId,
          expiresAt: new Date(Date.now() + config.RESUMABLE_UPLOAD_EXPIRY_HOURS * 3_600_000),
        })
        .returning()) as [ResumableUpload];
    } catch (error) {
      await multipart.abort().catch(() => {});
      throw error;
    }
    c.set("auditTarget", { type: "uploads", id });
    if (body) {
      ({ upload } = await appendChunk(c.get("services").db, config.DATASETS, upload, body));
      await queueIngest(c, upload);
    }
    offsetHeaders(c, upload);
    c.header("Location", `/api/v1/uploads/${id}`);
    return c.json(state(upload), 201);
  });

export const append: AppRouteHandler<typeof routes.append> = (c) =>
  refusing(c, async () => {
    const headers = c.req.valid("header");
    requireTusResumable(headers["tus-resumable"]);
    const { upload } = await requireUpload(c, "id", c.req.valid("param").id, "datasets:write");
    const body = chunkOf(c, true);
    const offset = byteCount(headers["upload-offset"], "Upload-Offset");
    if (offset === undefined) throw new ApiError(400, { code: "BAD_REQUEST", detail: "Send Upload-Offset: where this chunk starts." });
    if (expired(upload)) throw gone();
    if (upload.status !== "uploading")
      throw new ApiError(409, { code: "CONFLICT", detail: `The upload is complete (${upload.status}); nothing more can be appended.` });
    if (offset !== upload.offset)
      throw new ApiError(409, {
        code: "UPLOAD_OFFSET_MISMATCH",
        detail: `The chunk starts at ${offset}, but the upload has ${upload.offset} bytes: resume from Upload-Offset.`,
        headers: { "Upload-Offset": String(upload.offset) },
      });
    refuseOversized(c, upload);
    const { upload: after, interrupted } = await appendChunk(c.get("services").db, c.get("config").DATASETS, upload, body);
    if (interrupted) c.get("logger").info("upload chunk interrupted; kept what arrived", { uploadId: upload.id, offset: after.offset });
    await queueIngest(c, after);
    offsetHeaders(c, after);
    return c.body(null, 204);
  });

export const status: AppRouteHandler<typeof routes.status> = (c) =>
  refusing(c, async () => {
    requireTusResumable(c.req.valid("header")["tus-resumable"] ?? (c.req.method === "GET" ? TUS_VERSION : undefined));
    const { upload } = await requireUpload(c, "id", c.req.valid("param").id, "datasets:read");
    if (expired(upload)) throw gone();
    offsetHeaders(c, upload);
    c.header("Upload-Length", String(upload.length));
    if (Object.keys(upload.metadata).length > 0) c.header("Upload-Metadata", metadataHeader(upload.metadata));
    c.header("Cache-Control", "no-store");
    return c.json(state(upload), 200);
  });

export const terminate: AppRouteHandler<typeof routes.terminate> = (c) =>
  refusing(c, async () => {
    requireTusResumable(c.req.valid("header")["tus-resumable"]);
    const { upload } = await requireUpload(c, "id", c.req.valid("param").id, "datasets:write");
    if (upload.status !== "uploading")
      throw new ApiError(409, { code: "CONFLICT", detail: `The upload is complete (${upload.status}); delete its dataset instead.` });
    await discardUpload(c.get("config").DATASETS, upload);
    await c.get("services").db.delete(resumableUploads).where(eq(resumableUploads.id, upload.id));
    return c.body(null, 204);
  });

export const datasetEvents: AppRouteHandler<typeof routes.datasetEvents> = async (c) => {
  const id = c.req.valid("param").id;
  // The dataset, or (before it exists) the upload that reserved its id; either way the caller's tenancy decides.
  await findDataset(c, id, "datasets:read");
  const config = c.get("config");
  const lastEventId = c.req.valid("header")["last-event-id"] ?? c.req.valid("query").lastEventId;
  const response = await datasetRoom(config, id).fetch(`https://room/events?heartbeat=${config.SSE_HEARTBEAT_SECONDS}`, {
    headers: lastEventId ? { "Last-Event-ID": lastEventId } : {},
    signal: c.req.raw.signal,
  });
  return new Response(response.body, { status: 200, headers: response.headers }) as never;
};
