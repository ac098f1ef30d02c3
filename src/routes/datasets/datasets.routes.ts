// Route definitions for datasets: upload (streamed), list, get with profile, rows preview, versions, delete.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { ENCODINGS } from "../../services/datasets/encoding.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { formats, rejectReasons } from "../../db/dataset-documents.ts";
import { IdParam, ifMatchOf, Text, Timestamp } from "../schemas.ts";
import { OVERRIDE_TYPES, overrideProblem } from "../../services/datasets/type-overrides.ts";

/** A dataset's name, wherever it comes from: the query, a multipart `name` field or the file name. */
export const DatasetName = Text.trim().min(1).max(200);

const ColumnProfile = z
  .object({
    name: z.string(),
    type: z.enum(["integer", "number", "boolean", "datetime", "string"]),
    count: z.number().int(),
    nulls: z.number().int(),
    distinct: z.number().int().openapi({
      description:
        "Distinct non-null values: exact up to 2,048 (fewer past 32 columns), then a HyperLogLog estimate (about ±0.8 %) until the dataset's store is loaded, when it is counted exactly (see approximate.distinct)",
    }),
    min: z.union([z.number(), z.string(), z.boolean()]).nullable(),
    max: z.union([z.number(), z.string(), z.boolean()]).nullable(),
    mean: z.number().nullable(),
    stddev: z.number().nullable(),
    quantiles: z.record(z.string(), z.number()).nullable().openapi({
      description:
        "p5, p25, p50, p75, p95 by linear interpolation between order statistics (as DuckDB's quantile_cont): exact for a column of at most 2,048 numbers, else from a 2,048-value reservoir sample until the store is loaded, when they are computed over every value (see approximate.quantiles)",
    }),
    topValues: z.array(z.object({ value: z.string(), count: z.number().int() })),
    approximate: z
      .object({
        distinct: z
          .boolean()
          .openapi({ description: "true: `distinct` is an estimate (past the exact range, before the store's exact count)" }),
        quantiles: z
          .boolean()
          .openapi({ description: "true: `quantiles` come from a sample (more numbers than it holds, before the store's exact ones)" }),
      })
      .optional()
      .openapi({
        description: "Which figures are estimates. Absent on profiles made before it was recorded (treat their figures as estimates).",
      }),
    override: z
      .object({
        type: z.enum(OVERRIDE_TYPES),
        format: z.string().nullable(),
        unfit: z.number().int().openapi({ description: "Values the type cannot hold: read as null (and counted in `nulls`)" }),
        examples: z.array(z.string()).openapi({ description: "The first few unfit values (at most 5, cut at 100 characters)" }),
      })
      .optional()
      .openapi({ description: "Present when the column's type was set with PATCH /datasets/{id}/schema" }),
  })
  .openapi("ColumnProfile");

export const DatasetQueryState = z
  .object({
    status: z.enum(["pending", "loading", "ready", "failed"]).openapi({
      description:
        "The queryable copy (every row in the dataset's store): pending until a queue job loads it, ready once every row is in, failed with an error",
    }),
    rows: z.number().int().nullable().openapi({ description: "Rows in the store once ready" }),
    loadedAt: Timestamp.nullable(),
    error: z.string().nullable().openapi({ description: "Why the last load failed (kept while a retry is pending)" }),
  })
  .openapi("DatasetQueryState");

export const DatasetSummary = z
  .object({
    id: z.uuid(),
    projectId: z.uuid(),
    name: z.string(),
    version: z.number().int(),
    format: z.enum(formats),
    encoding: z.enum(ENCODINGS).openapi({
      description: "How the file's bytes were decoded: declared with the upload's `encoding`, else a UTF-16 byte order mark, else utf-8",
    }),
    status: z.enum(["ready"]),
    sizeBytes: z.number().int(),
    sha256: z.string(),
    rowCount: z
      .number()
      .int()
      .openapi({ description: "Rows in the dataset (accepted rows: rowCount + rejectedCount is the file's records)" }),
    columnCount: z.number().int(),
    onError: z
      .enum(["fail", "skip"])
      .openapi({ description: "What the upload did with bad rows: refused the file (fail) or left them out (skip)" }),
    rejectedCount: z
      .number()
      .int()
      .openapi({ description: "Rows left out under onError=skip (0 otherwise); the first 1,000 are listed at /datasets/{id}/rejects" }),
    createdBy: z.uuid().nullable(),
    createdAt: Timestamp,
    query: DatasetQueryState,
  })
  .openapi("DatasetSummary");

export const Dataset = DatasetSummary.extend({
  profile: z.object({ rowCount: z.number().int(), columns: z.array(ColumnProfile) }),
  sample: z.array(z.record(z.string(), z.unknown())).openapi({ description: "The first rows" }),
}).openapi("Dataset");

export const PendingDataset = z
  .object({
    id: z.uuid().openapi({ description: "The id the resumable upload reserved" }),
    projectId: z.uuid(),
    name: z.string(),
    format: z.enum(formats),
    status: z.enum(["uploading", "processing", "failed"]).openapi({
      description:
        "uploading while bytes are still to come, processing once the last one is in (the job profiling and saving it, or queued), failed for good with `error` (the file could not be a dataset, or the upload expired unfinished)",
    }),
    error: z.string().nullable().openapi({ description: "Why it failed; null otherwise" }),
    sizeBytes: z.number().int().openapi({ description: "The upload's declared length" }),
    onError: z.enum(["fail", "skip"]),
    createdBy: z.uuid().nullable(),
    createdAt: Timestamp,
    progress: z
      .object({
        phase: z.string().openapi({ description: "profiling while the job reads the file (loading follows, once it is saved)" }),
        bytesDone: z.number().int().nullable(),
        bytesTotal: z.number().int().nullable(),
        rowsDone: z.number().int().nullable(),
        at: Timestamp.openapi({ description: "When the job reported it (about once a second while it reads)" }),
      })
      .nullable()
      .openapi({
        description:
          "While processing: the job's last progress event, as GET /datasets/{id}/events sent it; null before the job's first and in other states",
      }),
    upload: z
      .object({
        id: z.uuid(),
        url: z.string().openapi({ description: "The tus upload's URL (PATCH, HEAD, DELETE)" }),
        offset: z.number().int().openapi({ description: "Bytes received" }),
        length: z.number().int(),
        expiresAt: Timestamp.openapi({ description: "When an unfinished upload is aborted" }),
      })
      .openapi({ description: "The resumable upload this dataset is coming from" }),
  })
  .openapi("PendingDataset", {
    description:
      "A dataset id a resumable upload reserved, before the dataset is saved: what is known so far. Once saved the id answers the ready Dataset.",
  });

/** The upload's body, per media type (plain OpenAPI schemas: the handler streams the body, nothing parses it first). */
const uploadContent = {
  "text/csv": { schema: { type: "string" as const, description: "The CSV text, with a header row" } },
  "application/x-ndjson": { schema: { type: "string" as const, description: "One JSON object per line" } },
  "application/json": {
    schema: {
      type: "array" as const,
      items: { type: "object" as const, additionalProperties: true },
      description: "An array of row objects",
    },
  },
  "application/vnd.apache.parquet": { schema: { type: "string" as const, format: "binary", description: "A Parquet file" } },
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
    schema: { type: "string" as const, format: "binary", description: "An Excel .xlsx workbook (its first sheet, or `sheet`)" },
  },
  "multipart/form-data": {
    schema: {
      type: "object" as const,
      required: ["file"],
      properties: {
        file: {
          type: "string" as const,
          format: "binary",
          description: "The CSV, JSON, NDJSON, Parquet or .xlsx file (told by its media type or extension)",
        },
        name: { type: "string" as const, maxLength: 200, description: "The dataset's name (the query's `name` wins)" },
      },
    },
  },
};

export const upload = createRoute({
  method: "post",
  path: "/projects/{id}/datasets",
  operationId: "uploadDataset",
  tags: ["Datasets"],
  summary: "Upload a CSV, JSON, NDJSON, Parquet or Excel (.xlsx) file (streamed and profiled)",
  description:
    'Send the file as the raw body (`text/csv`, `application/json` for an array of objects, `application/x-ndjson`, `application/vnd.apache.parquet`, `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`) or as `multipart/form-data` with a `file` field (a `.parquet` or `.xlsx` name is enough). Parquet and Excel files are stored first and then read from storage by range reads (Parquet a row group at a time, an .xlsx sheet as its XML inflates): Parquet types map to the profile\'s (dates and timestamps as datetimes); an .xlsx sheet is its first (or `sheet`), cells with a date format read as dates, formulas as their cached values, error cells as nulls, and merged cells take their top-left value (a header merged across columns names each, a header merged down two rows joins the parts, as "Revenue Q1"). Bytes that are not the declared format answer 422 `FORMAT_MISMATCH`, a damaged or truncated file 422 `PARQUET_MALFORMED` or `XLSX_MALFORMED`, a workbook inflating past MAX_XLSX_INFLATED_BYTES 422 `XLSX_TOO_LARGE`, a missing sheet 422 `XLSX_SHEET_NOT_FOUND`. CSV delimiter and header are detected. Text is UTF-8 (with or without BOM), UTF-16LE/BE told by their BOM, or the `encoding` given (422 `ENCODING_MISMATCH` when the bytes cannot be in it). The same bytes uploaded again to the project answer 200 with the existing dataset; a changed file under the same name becomes its next version. Limits: MAX_UPLOAD_BYTES (413 `UPLOAD_TOO_LARGE`), MAX_ROWS (422 `TOO_MANY_ROWS`), MAX_COLUMNS (422 `TOO_MANY_COLUMNS`), MAX_JSON_DEPTH (422 `JSON_TOO_DEEP`), an NDJSON line past 8 Mi characters (422 `ROW_TOO_LARGE`); a refused upload, or one whose project is deleted before it finishes (404), leaves nothing behind.',
  ...authed,
  request: {
    params: IdParam,
    query: z.object({
      name: DatasetName.optional().openapi({ description: "Defaults to the file name, or a multipart `name` field" }),
      format: z.enum(formats).optional().openapi({ description: "Overrides what Content-Type and file name say" }),
      sheet: Text.min(1).max(31).optional().openapi({ description: "xlsx: the sheet to read by its name (default: the workbook's first)" }),
      encoding: z.enum(ENCODINGS).optional().openapi({
        description:
          "The file's text encoding. Without it: UTF-8, or UTF-16LE/BE when the file starts with their byte order mark. Declare the single-byte ones (windows-1252, iso-8859-1, iso-8859-15) for older exports; iso-8859-1 is decoded as windows-1252, as the WHATWG Encoding standard (and every browser) does. A declared encoding the bytes cannot be in (a byte order mark of another, an odd byte count or an unpaired surrogate in UTF-16) answers 422 `ENCODING_MISMATCH`; an unknown value 400.",
      }),
      onError: z.enum(["fail", "skip"]).default("fail").openapi({
        description:
          "A bad row (a CSV row of another width, an NDJSON line that is not JSON or is past 8 Mi characters, a JSON value that is not an object or nests too deep): `fail` refuses the file (422), `skip` leaves the row out and lists it in the dataset's reject report (GET /datasets/{id}/rejects). Damage no row boundary survives (an unclosed quote, a malformed JSON array, bytes that are not UTF-8) refuses the file either way.",
      }),
    }),
    body: {
      required: true,
      content: uploadContent,
    },
  },
  responses: {
    200: { description: "These bytes were already uploaded: the existing dataset", content: { "application/json": { schema: Dataset } } },
    201: { description: "Uploaded", content: { "application/json": { schema: Dataset } } },
    ...problemResponses(400, 401, 403, 404, 413, 415, 422),
  },
});

export const list = createRoute({
  method: "get",
  path: "/projects/{id}/datasets",
  operationId: "listDatasets",
  tags: ["Datasets"],
  summary: "A project's datasets (every version), newest first",
  description:
    "Saved datasets only, unless `include=pending`: then the datasets resumable uploads are still bringing (PendingDataset: uploading, processing, or failed) are listed too, by when their upload was created, in the same keyset order; a pending one's `progress` is null here (GET it for the job's progress). Once saved, a dataset is listed by when it was saved.",
  ...authed,
  request: {
    params: IdParam,
    query: PageQuery.extend({
      name: Text.min(1).max(200).optional(),
      include: z.enum(["pending"]).optional().openapi({ description: "`pending`: list resumable uploads' datasets not saved yet too" }),
    }),
  },
  responses: {
    200: {
      description: "A page",
      content: { "application/json": { schema: pageSchema(z.union([DatasetSummary, PendingDataset])) } },
    },
    ...problemResponses(400, 401, 404),
  },
});

export const get = createRoute({
  method: "get",
  path: "/datasets/{id}",
  operationId: "getDataset",
  tags: ["Datasets"],
  summary: "One dataset with its profile and sample (or, while a resumable upload brings it, its progress)",
  description:
    "A saved dataset is `status: ready`, with its profile and sample and an `ETag`. The id a resumable upload reserved answers before the dataset exists too: a PendingDataset (`uploading`, `processing` or `failed` with `error`, the upload's `offset` and URL; `Cache-Control: no-store`, a weak ETag of the body), then the ready dataset once the job saved it. When the upload's bytes were already a dataset of the project, the reserved id answers 303 See Other with `Location` at that dataset. A terminated (DELETE) or expired-and-swept upload leaves a 404, as does another tenant's id.",
  ...authed,
  request: { params: IdParam },
  responses: {
    200: {
      description: "The dataset, or the pending one a resumable upload is bringing",
      headers: z.object({
        ETag: z.string().openapi({ description: "A ready dataset's (strong, its content hash); a pending one's is weak" }),
      }),
      content: { "application/json": { schema: z.union([Dataset, PendingDataset]) } },
    },
    303: {
      description: "The reserved id's upload held bytes already in the project: `Location` is the dataset that has them",
      headers: z.object({ Location: z.string() }),
    },
    304: { description: "Not modified (If-None-Match)" },
    ...problemResponses(400, 401, 404),
  },
});

export const rows = createRoute({
  method: "get",
  path: "/datasets/{id}/rows",
  operationId: "getDatasetRows",
  tags: ["Datasets"],
  summary: "A page of the file's rows, read from storage",
  ...authed,
  request: {
    params: IdParam,
    query: z.object({
      offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
      limit: z.coerce.number().int().min(1).max(1_000).default(100),
    }),
  },
  responses: {
    200: {
      description: "Rows",
      content: {
        "application/json": {
          schema: z.object({
            columns: z.array(z.string()),
            rows: z.array(z.record(z.string(), z.unknown())),
            offset: z.number().int(),
            limit: z.number().int(),
            total: z.number().int(),
          }),
        },
      },
    },
    ...problemResponses(400, 401, 404, 409),
  },
});

export const versions = createRoute({
  method: "get",
  path: "/datasets/{id}/versions",
  operationId: "listDatasetVersions",
  tags: ["Datasets"],
  summary: "Every live version of this dataset's name in its project, newest first",
  ...authed,
  request: { params: IdParam },
  responses: {
    200: { description: "Versions", content: { "application/json": { schema: z.object({ data: z.array(DatasetSummary) }) } } },
    ...problemResponses(400, 401, 404, 409),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/datasets/{id}",
  operationId: "deleteDataset",
  tags: ["Datasets"],
  summary: "Delete a dataset version (soft; its file is purged after RETENTION_DAYS)",
  ...authed,
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 404, 409) },
});

export const RejectedRow = z
  .object({
    line: z.number().int().openapi({
      description: "CSV: the record's number (the header and blank lines counting); NDJSON: the line's; a JSON array: the element's",
    }),
    column: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "CSV: the 1-based column where the row parts from the header's width; else null" }),
    reason: z.enum(rejectReasons).openapi({ description: "Why the row was left out (a stable code)" }),
    raw: z.string().openapi({ description: "The row as in the file, cut at 1 KiB of UTF-8" }),
  })
  .openapi("RejectedRow");

export const rejects = createRoute({
  method: "get",
  path: "/datasets/{id}/rejects",
  operationId: "getDatasetRejects",
  tags: ["Datasets"],
  summary: "The reject report: rows an onError=skip upload left out",
  description:
    "The first 1,000 rejected rows are kept, in file order, and paged here by `offset` and `limit`; `rejectedCount` is the true total (it may exceed the listed rows). Empty for a dataset uploaded with onError=fail.",
  ...authed,
  request: {
    params: IdParam,
    query: z.object({
      offset: z.coerce.number().int().min(0).max(1_000).default(0),
      limit: z.coerce.number().int().min(1).max(1_000).default(100),
    }),
  },
  responses: {
    200: {
      description: "A page of the report",
      content: {
        "application/json": {
          schema: z.object({
            rejectedCount: z.number().int().openapi({ description: "Every row left out" }),
            listed: z.number().int().openapi({ description: "How many are kept in the report (at most 1,000)" }),
            offset: z.number().int(),
            limit: z.number().int(),
            data: z.array(RejectedRow),
          }),
        },
      },
    },
    ...problemResponses(400, 401, 404, 409),
  },
});

const ColumnOverride = z
  .object({
    column: z.string().min(1).max(1_000).openapi({ description: "A column of the dataset, by name" }),
    type: z.enum([...OVERRIDE_TYPES, "auto"]).openapi({
      description:
        "text (keeps a zip code's leading zeros, a 6.4.3 version as written), integer, number, boolean (true/false, yes/no, t/f, 1/0), date (YYYY-MM-DD), datetime; `auto` removes the override and the type is inferred again",
    }),
    format: z.string().min(1).max(64).optional().openapi({
      description:
        "date and datetime: how the values are written, of the tokens YYYY, MM, M, DD, D, HH, H, mm, ss, SSS between literal characters (UTC); without it ISO 8601",
      example: "DD/MM/YYYY",
    }),
  })
  .strict()
  .superRefine((override, ctx) => {
    const problem = override.type === "auto" ? (override.format ? "auto takes no format" : null) : overrideProblem(override as never);
    if (problem) ctx.addIssue({ code: "custom", path: ["format"], message: problem });
  })
  .openapi("ColumnTypeOverride");

export const SchemaChange = z
  .object({
    columns: z
      .array(ColumnOverride)
      .min(1)
      .max(1_000)
      .refine((columns) => new Set(columns.map((column) => column.column)).size === columns.length, "A column is named twice"),
  })
  .strict()
  .openapi("DatasetSchemaChange");

export const setSchema = createRoute({
  method: "patch",
  path: "/datasets/{id}/schema",
  operationId: "setDatasetSchema",
  tags: ["Datasets"],
  summary: "Set column types: a new version of the dataset, profiled and loaded again (members and above)",
  description:
    "The listed columns are read as the given types from now on: the same stored file is profiled again as the name's next version (201, its query store loaded anew), and later uploads and imports of the name carry the overrides forward. A value the type cannot hold (\"n/a\" aside, which is null anyway) is read as null and counted in the column profile's `override.unfit`, with examples; it never refuses the file. Overrides not listed are kept; `auto` removes one. The dataset named must be the newest live version of its name (else 412), and If-Match, when sent, its ETag. An unknown column is 422 `UNKNOWN_COLUMN`; a malformed type or format 400. Types the same as the current ones answer 200 with the dataset as it is.",
  ...authed,
  request: { params: IdParam, headers: ifMatchOf("dataset"), body: jsonBody(SchemaChange) },
  responses: {
    200: { description: "Nothing changed: the dataset as it is", content: { "application/json": { schema: Dataset } } },
    201: {
      description: "The new version",
      headers: z.object({ Location: z.string() }),
      content: { "application/json": { schema: Dataset } },
    },
    ...problemResponses(400, 401, 403, 404, 409, 412, 415, 422),
  },
});
