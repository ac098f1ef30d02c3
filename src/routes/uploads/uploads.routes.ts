// Route definitions for resumable uploads (tus 1.0: creation, creation-with-upload, termination, expiration) and a
// dataset's load progress (SSE).
import { createRoute, z } from "@hono/zod-openapi";
import { formats } from "../../db/dataset-documents.ts";
import { authed } from "../../lib/create-app.ts";
import { problemResponses } from "../../lib/openapi.ts";
import { IdParam, Timestamp } from "../schemas.ts";

const ByteCount = z.string().regex(/^\d{1,16}$/, "a byte count");
const TusResumable = z.string().openapi({ description: "The tus version: 1.0.0" });

const chunkContent = {
  "application/offset+octet-stream": { schema: { type: "string" as const, format: "binary", description: "The file's next bytes" } },
};

const tusHeaders = { "Tus-Resumable": z.literal("1.0.0") };
const offsetHeaders = z.object({
  ...tusHeaders,
  "Upload-Offset": z.string().openapi({ description: "Bytes of the file the server has" }),
  "Upload-Expires": z.string().openapi({ description: "When an unfinished upload is aborted (an HTTP date)" }),
});

export const UploadState = z
  .object({
    id: z.uuid(),
    projectId: z.uuid(),
    datasetId: z.uuid().openapi({
      description:
        "The dataset this upload becomes (follow GET /datasets/{id}/events); when the same bytes were already in the project, the dataset that has them",
    }),
    name: z.string(),
    format: z.enum(formats),
    length: z.number().int(),
    offset: z.number().int(),
    status: z.enum(["uploading", "processing", "ready", "failed"]).openapi({
      description:
        "uploading until the last byte, processing while a job profiles the file and saves the dataset, ready once the dataset exists (its store loads after), failed with an error",
    }),
    error: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    expiresAt: Timestamp,
    createdAt: Timestamp,
  })
  .openapi("ResumableUpload");

export const create = createRoute({
  method: "post",
  path: "/projects/{id}/uploads",
  operationId: "createResumableUpload",
  tags: ["Uploads"],
  summary: "Start a resumable upload (tus 1.0 creation, with an optional first chunk)",
  description:
    "tus 1.0 (https://tus.io/protocols/resumable-upload): send `Tus-Resumable: 1.0.0`, `Upload-Length` (up to MAX_RESUMABLE_UPLOAD_BYTES, 5 GiB by default, for a UTF-8 CSV, which is processed in segments; anything else is processed in one job and may be at most MAX_SINGLE_JOB_UPLOAD_BYTES, 256 MiB) and `Upload-Metadata` (`filename`, `filetype`; optional `name` for the dataset's name, `format` csv|json|ndjson, `encoding`, `onError` fail|skip, each base64). With a body of `Content-Type: application/offset+octet-stream` the first chunk is appended at once (creation-with-upload). `Location` is the upload's URL for PATCH, HEAD and DELETE. Once the last byte arrives the file is profiled into a dataset version by a queue job: follow `GET /datasets/{datasetId}/events`, or poll `GET /datasets/{datasetId}` (a PendingDataset, uploading then processing, until it is the ready dataset). OPTIONS on this path answers `Tus-Version`, `Tus-Extension` and `Tus-Max-Size`.",
  ...authed,
  request: {
    params: IdParam,
    headers: z.object({
      "tus-resumable": TusResumable.optional(),
      "upload-length": ByteCount.optional(),
      "upload-metadata": z.string().max(8192).optional(),
      "upload-defer-length": z.string().optional(),
    }),
    body: { required: false, content: chunkContent },
  },
  responses: {
    201: {
      description: "Created: `Location` is the upload",
      headers: offsetHeaders.extend({ Location: z.string() }),
      content: { "application/json": { schema: UploadState } },
    },
    ...problemResponses(400, 401, 403, 404, 409, 412, 413, 415, 422),
  },
});

export const append = createRoute({
  method: "patch",
  path: "/uploads/{id}",
  operationId: "appendResumableUpload",
  tags: ["Uploads"],
  summary: "Append a chunk at the upload's offset (tus PATCH)",
  description:
    "`Upload-Offset` must be the upload's offset (409 `UPLOAD_OFFSET_MISMATCH` otherwise: ask HEAD), `Content-Type: application/offset+octet-stream` (415 otherwise), and the chunk must not go past `Upload-Length` (413). Any chunk size works (each under the request limit of your plan); the server stores the file in fixed 5 MiB R2 parts. A connection that drops mid-chunk keeps the bytes that arrived. An expired upload is 410 `UPLOAD_EXPIRED`, a finished one 409.",
  ...authed,
  request: {
    params: IdParam,
    headers: z.object({ "tus-resumable": TusResumable.optional(), "upload-offset": ByteCount.optional() }),
    body: { required: true, content: chunkContent },
  },
  responses: {
    204: { description: "Appended: `Upload-Offset` is the new offset", headers: offsetHeaders },
    ...problemResponses(400, 401, 403, 404, 409, 410, 412, 413, 415),
  },
});

export const status = createRoute({
  method: "get",
  path: "/uploads/{id}",
  operationId: "getResumableUpload",
  tags: ["Uploads"],
  summary: "The upload's offset (tus HEAD) and state",
  description:
    "HEAD is the tus way to learn the offset after a dropped connection: `Upload-Offset`, `Upload-Length`, `Upload-Metadata`, `Upload-Expires`, never cached. GET answers the same headers with the upload's state as JSON (processing, ready with its dataset, failed with why).",
  ...authed,
  request: { params: IdParam, headers: z.object({ "tus-resumable": TusResumable.optional() }) },
  responses: {
    200: {
      description: "The upload",
      headers: offsetHeaders.extend({
        "Upload-Length": z.string(),
        "Upload-Metadata": z.string().optional(),
        "Cache-Control": z.string(),
      }),
      content: { "application/json": { schema: UploadState } },
    },
    ...problemResponses(400, 401, 403, 404, 410, 412),
  },
});

export const terminate = createRoute({
  method: "delete",
  path: "/uploads/{id}",
  operationId: "terminateResumableUpload",
  tags: ["Uploads"],
  summary: "Abort an unfinished upload (tus termination): its parts are removed",
  ...authed,
  request: { params: IdParam, headers: z.object({ "tus-resumable": TusResumable.optional() }) },
  responses: {
    204: { description: "Aborted: nothing of it is kept", headers: z.object(tusHeaders) },
    ...problemResponses(400, 401, 403, 404, 409, 412),
  },
});

const EventId = z.string().regex(/^\d{1,15}$/, "an event id this stream sent");

export const datasetEvents = createRoute({
  method: "get",
  path: "/datasets/{id}/events",
  operationId: "streamDatasetEvents",
  tags: ["Datasets"],
  summary: "Follow a dataset's processing and load: progress as server-sent events",
  description:
    "For a dataset, or the dataset id a resumable upload reserved (before the dataset exists). Events: `progress` (`phase` profiling or loading, `bytesDone`, `bytesTotal`, `rowsDone`), `saved` (the dataset version exists: `datasetId`, `version`, `rowCount`), `ready` (every row is in its store), `failed` (`error`). Every event has an `id`: reconnect with `Last-Event-ID` for the ones missed (the last 500 are kept). A `: heartbeat` comment comes every SSE_HEARTBEAT_SECONDS.",
  ...authed,
  request: {
    params: IdParam,
    query: z.object({
      lastEventId: EventId.optional().openapi({ description: "Resume after this event, as `Last-Event-ID` does (the header wins)" }),
    }),
    headers: z.object({ "last-event-id": EventId.optional() }),
  },
  responses: {
    200: { description: "The event stream", content: { "text/event-stream": { schema: z.string() } } },
    ...problemResponses(400, 401, 404),
  },
});
