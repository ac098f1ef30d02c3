// Parquet read from a stored object by range reads (hyparquet): the footer first, then one row group at a time, so memory holds
// one row group's columns, never the file.
import { decompress as zstd } from "fzstd";
import { type Compressors, type FileMetaData, parquetMetadataAsync, parquetRead, parquetSchema } from "hyparquet";
import { decompressBrotli } from "hyparquet-compressors/src/brotli.js";
import { gunzip } from "hyparquet-compressors/src/gzip.js";
import { decompressLz4, decompressLz4Raw } from "hyparquet-compressors/src/lz4.js";
import { ApiError } from "../../../lib/problem.ts";
import type { Cell } from "../profile/types.ts";
import { asyncBuffer, ObjectGoneError, type RangeSource } from "./range-source.ts";
import { cellOf, instantText } from "./values.ts";

/** Snappy (the common codec) is hyparquet's built-in JavaScript; the others from hyparquet-compressors, without its WebAssembly. */
const compressors: Compressors = {
  GZIP: (input, length) => gunzip(input, new Uint8Array(length)),
  BROTLI: decompressBrotli,
  ZSTD: (input) => zstd(input),
  LZ4: decompressLz4,
  LZ4_RAW: decompressLz4Raw,
};

/** Instants straight to the profiler's text (see instantText), not Date objects made only to be formatted. */
const parsers = {
  timestampFromMilliseconds: (millis: bigint) => instantText(Number(millis)),
  timestampFromMicroseconds: (micros: bigint) => instantText(Number(micros / 1000n)),
  timestampFromNanoseconds: (nanos: bigint) => instantText(Number(nanos / 1_000_000n)),
  dateFromDays: (days: number) => instantText(days * 86_400_000),
};

/** A row group decoded at once must fit well inside an isolate's 128 MB (its columns as values take more than their bytes). */
export const MAX_ROW_GROUP_BYTES = 64 * 1024 * 1024;

export const PARQUET_MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"

const malformed = (error: unknown) =>
  new ApiError(422, {
    code: "PARQUET_MALFORMED",
    detail: `The file is not a readable Parquet file (truncated or damaged): ${error instanceof Error ? error.message.slice(0, 200) : "unreadable"}.`,
  });

/** hyparquet's own errors are about the file; ours (limits) and R2's pass through. */
const asFileError = (error: unknown) => (error instanceof ApiError || error instanceof ObjectGoneError ? error : malformed(error));

export interface ParquetFile {
  columns: string[];
  rowCount: number;
  /** The rows, a row group at a time, as cells in the order of `columns`. */
  batches(): AsyncGenerator<Cell[][]>;
}

export interface ParquetLimits {
  maxRows: number;
  maxColumns: number;
}

/** Opens the file by its footer, refusing one past the limits before a row is read. */
export async function openParquet(source: RangeSource, limits: ParquetLimits): Promise<ParquetFile> {
  const file = asyncBuffer(source);
  let metadata: FileMetaData;
  try {
    if (source.size < 12) throw new Error("shorter than a Parquet header and footer");
    metadata = await parquetMetadataAsync(file, { parsers });
  } catch (error) {
    throw asFileError(error);
  }
  const columns = parquetSchema(metadata).children.map((child) => child.element.name);
  const rowCount = Number(metadata.num_rows);
  if (columns.length === 0) throw new ApiError(422, { code: "EMPTY_FILE", detail: "The Parquet file has no columns." });
  if (columns.length > limits.maxColumns)
    throw new ApiError(422, {
      code: "TOO_MANY_COLUMNS",
      detail: `The file has ${columns.length} columns; the limit is ${limits.maxColumns}.`,
    });
  if (rowCount > limits.maxRows)
    throw new ApiError(422, { code: "TOO_MANY_ROWS", detail: `The file has more than ${limits.maxRows} rows, the limit.` });
  const groups = metadata.row_groups.map((group) => ({ rows: Number(group.num_rows), bytes: Number(group.total_byte_size) }));
  const big = groups.find((group) => group.bytes > MAX_ROW_GROUP_BYTES);
  if (big)
    throw new ApiError(422, {
      code: "PARQUET_ROW_GROUP_TOO_LARGE",
      detail: `A row group holds ${big.bytes} bytes uncompressed; at most ${MAX_ROW_GROUP_BYTES} are read at once (write it with smaller row groups).`,
    });
  if (groups.reduce((sum, group) => sum + group.rows, 0) !== rowCount) throw malformed(new Error("row groups disagree with the row count"));

  async function* batches(): AsyncGenerator<Cell[][]> {
    let rowStart = 0;
    for (const group of groups) {
      const rowEnd = rowStart + group.rows;
      let rows: unknown[][] = [];
      try {
        await parquetRead({
          file,
          metadata,
          rowStart,
          rowEnd,
          compressors,
          parsers,
          rowFormat: "array",
          onComplete: (read) => {
            rows = read;
          },
        });
      } catch (error) {
        throw asFileError(error);
      }
      if (rows.length !== group.rows) throw malformed(new Error(`a row group gave ${rows.length} of its ${group.rows} rows`));
      rowStart = rowEnd;
      const batch = new Array<Cell[]>(rows.length);
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r]!;
        const cells = new Array<Cell>(columns.length);
        for (let i = 0; i < columns.length; i++) cells[i] = cellOf(row[i]);
        batch[r] = cells;
      }
      rows = [];
      yield batch;
    }
  }
  return { columns, rowCount, batches };
}
