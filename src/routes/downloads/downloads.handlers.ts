// Dataset downloads: the stored object piped out as it is, or its rows re-read and streamed as CSV or Parquet.
import { etagOf, notModified } from "../../lib/etag.ts";
import { ApiError } from "../../lib/problem.ts";
import { pullStream } from "../../lib/pull-stream.ts";
import { type Dataset, requireDataset } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { csvText } from "../../services/downloads/csv.ts";
import { parquetChunks } from "../../services/downloads/parquet.ts";
import { storedRows } from "../../services/downloads/stored-rows.ts";
import { contentKey } from "../../services/dataset-store/stub.ts";
import { xlsxChunks } from "../../services/downloads/xlsx.ts";
import { isBinaryFormat, openStoredTabular } from "../../services/datasets/formats/tabular.ts";
import { XLSX_MAX_COLUMNS, XLSX_MAX_ROWS } from "../../services/datasets/formats/xlsx-writer.ts";
import { namedAttachment } from "../../services/exports/filename.ts";
import type * as routes from "./downloads.routes.ts";

const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/** The rows of the stored file (its own reader per format), or null when it is no longer stored. */
async function rowsOf(bucket: R2Bucket, dataset: Dataset) {
  if (isBinaryFormat(dataset.format)) return (await openStoredTabular(bucket, dataset.r2Key, dataset.parseOptions))?.batches() ?? null;
  const object = await bucket.get(dataset.r2Key);
  if (!object) return null;
  return storedRows(
    object.body,
    dataset.parseOptions,
    dataset.profile.columns.map((column) => column.name),
  );
}

/** The uploaded file's media type (with the charset it was read in) and extension, by what it was read as. */
function original(dataset: Dataset): { type: string; ext: string } {
  const charset = dataset.parseOptions.encoding ?? "utf-8";
  if (dataset.format === "json") return { type: "application/json", ext: "json" };
  if (dataset.format === "ndjson") return { type: "application/x-ndjson", ext: "ndjson" };
  if (dataset.format === "parquet") return { type: "application/vnd.apache.parquet", ext: "parquet" };
  if (dataset.format === "xlsx") return { type: XLSX_TYPE, ext: "xlsx" };
  return dataset.parseOptions.delimiter === "\t"
    ? { type: `text/tab-separated-values; charset=${charset}`, ext: "tsv" }
    : { type: `text/csv; charset=${charset}`, ext: "csv" };
}

export const download: AppRouteHandler<typeof routes.download> = async (c) => {
  const { format } = c.req.valid("query");
  const { dataset } = await requireDataset(c, c.req.valid("param").id, "datasets:read");
  // CSV downloads are UTF-8 and hold the dataset's rows: a CSV uploaded in another encoding, or one whose upload left rows
  // out (onError=skip), is re-read and written out (`original` keeps its bytes).
  const utf8 = (dataset.parseOptions.encoding ?? "utf-8") === "utf-8";
  // Type overrides change the values (a day-first date becomes ISO): such a CSV is written out too.
  const typed = Boolean(dataset.parseOptions.types?.length);
  const asUploaded =
    format === "original" || (format === "csv" && dataset.format === "csv" && utf8 && dataset.rejectedCount === 0 && !typed);
  // A version never changes: its hash tags the bytes as uploaded; a conversion is the same data, not the same bytes (weak).
  const etag = asUploaded ? etagOf(dataset.sha256) : `W/"${contentKey(dataset)}.${format}"`;
  if (notModified(c, etag)) return c.body(null, 304, { ETag: etag });
  const gone = () => new ApiError(404, { detail: "The dataset's file is no longer stored." });
  const bucket = c.get("config").DATASETS;
  const headers = { ETag: etag, "Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff" };
  if (format === "xlsx" && (dataset.rowCount >= XLSX_MAX_ROWS || dataset.columnCount > XLSX_MAX_COLUMNS))
    throw new ApiError(422, {
      code: "XLSX_ROW_LIMIT",
      detail: `An Excel sheet holds at most ${XLSX_MAX_ROWS - 1} rows under its header and ${XLSX_MAX_COLUMNS} columns; this dataset has ${dataset.rowCount} rows and ${dataset.columnCount} columns (download it as CSV or Parquet).`,
    });

  if (asUploaded) {
    const object = await bucket.get(dataset.r2Key);
    if (!object) throw gone();
    const { type, ext } = original(dataset);
    return c.body(object.body, 200, {
      ...headers,
      "Content-Type": type,
      "Content-Length": String(object.size),
      "Content-Disposition": namedAttachment(dataset.name, ext),
    });
  }
  const columns = dataset.profile.columns;
  const rows = await rowsOf(bucket, dataset);
  if (!rows) throw gone();
  const logger = c.get("logger");
  if (format === "csv") {
    const body = pullStream(
      csvText(
        columns.map((column) => column.name),
        rows,
      ),
      logger,
      "csv download",
    );
    return c.body(body, 200, {
      ...headers,
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": namedAttachment(dataset.name, "csv"),
    });
  }
  if (format === "xlsx") {
    const body = pullStream(xlsxChunks(rows, { columns, sheet: dataset.name }), logger, "xlsx download");
    return c.body(body, 200, { ...headers, "Content-Type": XLSX_TYPE, "Content-Disposition": namedAttachment(dataset.name, "xlsx") });
  }
  const metadata = {
    "datacrafted.dataset.id": dataset.id,
    "datacrafted.dataset.version": String(dataset.version),
    "datacrafted.dataset.sha256": dataset.sha256,
  };
  const body = pullStream(parquetChunks(rows, { columns, metadata }), logger, "parquet download");
  return c.body(body, 200, {
    ...headers,
    "Content-Type": "application/vnd.apache.parquet",
    "Content-Disposition": namedAttachment(dataset.name, "parquet"),
  });
};
