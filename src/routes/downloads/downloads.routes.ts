// Route definition for dataset downloads: the stored file as uploaded, as CSV, or as Parquet.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { problemResponses } from "../../lib/openapi.ts";
import { IdParam } from "../schemas.ts";

const binary = { schema: { type: "string" as const, format: "binary" } };

export const downloadFormats = ["original", "csv", "parquet", "xlsx"] as const;

export const download = createRoute({
  method: "get",
  path: "/datasets/{id}/download",
  operationId: "downloadDataset",
  tags: ["Datasets"],
  summary: "Download a dataset version: the uploaded file, as CSV, as Parquet or as Excel (.xlsx)",
  description: [
    "Streamed, never held whole. `original` (the default): the bytes as uploaded, with their media type (`text/csv`, `text/tab-separated-values`, `application/json`, `application/x-ndjson`, `application/vnd.apache.parquet`, the .xlsx type),",
    "`Content-Length`, and the content hash (`sha256`) as the strong `ETag` (the charset is the upload's `encoding`). `csv`: for a UTF-8 CSV upload the same bytes as `original`; for a CSV in another encoding or with type overrides (PATCH /datasets/{id}/schema), or JSON or NDJSON, the rows in UTF-8",
    "as RFC 4180 CSV (comma, CRLF, a header of the profile's columns, objects as JSON, null and missing as empty). `parquet`: the rows read with the",
    "upload's own parsers and typed by the profile (integer INT64, number DOUBLE, boolean BOOLEAN, datetime TIMESTAMP in milliseconds UTC, string UTF-8;",
    "null spellings as nulls), written by hyparquet-writer in row groups of at most 65,536 rows and 131,072 cells, Snappy-compressed. `xlsx`: one sheet named",
    "after the dataset, a bold frozen header, the cells typed the same way (datetimes as dates with a date format, integers past 15 digits lose precision",
    "as Excel's numbers do, text inline and cut at 32,767 characters); more rows than a sheet holds (1,048,575 under the header) answer 422 `XLSX_ROW_LIMIT`. Converted downloads",
    "have a weak ETag (the hash and the format) and no Content-Length. `If-None-Match` answers 304. The file name is the dataset's name.",
  ].join(" "),
  ...authed,
  request: {
    params: IdParam,
    query: z.object({
      format: z.enum(downloadFormats).default("original").openapi({ description: "original (default), csv, parquet or xlsx" }),
    }),
  },
  responses: {
    200: {
      description: "The file, as an attachment",
      headers: z.object({
        ETag: z.string(),
        "Content-Disposition": z.string().openapi({ example: 'attachment; filename="sales.csv"' }),
        "Content-Length": z.string().optional().openapi({ description: "For `original` (and `csv` of a UTF-8 CSV upload)" }),
      }),
      content: {
        "text/csv": binary,
        "text/tab-separated-values": binary,
        // A JSON upload is an array of row objects, and is given back as it came.
        "application/json": { schema: { type: "array" as const, items: { type: "object" as const, additionalProperties: true } } },
        "application/x-ndjson": binary,
        "application/vnd.apache.parquet": binary,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": binary,
      },
    },
    304: { description: "Not modified (If-None-Match)" },
    ...problemResponses(400, 401, 404, 409, 422),
  },
});
