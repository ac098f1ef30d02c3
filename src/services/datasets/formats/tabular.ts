// The binary formats (Parquet, Excel) read from a stored object: what the upload profiles, the load job stores, and downloads and
// previews read back. Both need random access (a footer, a zip directory), so they are read from R2, never from a request body.
import { ApiError } from "../../../lib/problem.ts";
import type { Format, ParseOptions } from "../../../db/dataset-documents.ts";
import type { Cell } from "../profile/types.ts";
import { openParquet, PARQUET_MAGIC } from "./parquet.ts";
import { type RangeSource, r2Source } from "./range-source.ts";
import { openXlsx } from "./xlsx-reader.ts";
import { ZIP_MAGIC } from "./zip.ts";

export type BinaryFormat = Extract<Format, "parquet" | "xlsx">;
export const isBinaryFormat = (format: Format): format is BinaryFormat => format === "parquet" || format === "xlsx";

export interface TabularLimits {
  maxRows: number;
  maxColumns: number;
  maxInflatedBytes: number;
}

/** Reading back a file the upload accepted: its limits held then, and the rows are what the profile counted. */
export const READ_BACK_LIMITS: TabularLimits = {
  maxRows: Number.MAX_SAFE_INTEGER,
  maxColumns: Number.MAX_SAFE_INTEGER,
  maxInflatedBytes: Number.MAX_SAFE_INTEGER,
};

export interface TabularFile {
  /** Known once the first batch is read (an Excel header is in the rows), and may grow (a wider Excel row). */
  columns: string[];
  batches(): AsyncGenerator<Cell[][]>;
  /** What the reader settled on, to be kept with the dataset (the sheet read). */
  parse: ParseOptions;
  /** xlsx: the sheet's name when it is not the workbook's first (the same bytes then hold another table). */
  variant?: string;
}

const MAGIC: Record<BinaryFormat, number[]> = { parquet: PARQUET_MAGIC, xlsx: ZIP_MAGIC };
const NAMES: Record<BinaryFormat, string> = { parquet: "Parquet", xlsx: "an .xlsx workbook" };

/** The first bytes of a file against its declared format: 422 FORMAT_MISMATCH when they cannot be it. */
export function checkMagic(format: BinaryFormat, head: Uint8Array) {
  if (MAGIC[format].every((byte, i) => head[i] === byte)) return;
  const legacyExcel = head[0] === 0xd0 && head[1] === 0xcf && head[2] === 0x11 && head[3] === 0xe0;
  throw new ApiError(422, {
    code: "FORMAT_MISMATCH",
    detail: legacyExcel
      ? "The file is a legacy .xls workbook or a password-protected one; save it as .xlsx without a password."
      : `The file's bytes are not ${NAMES[format]} (it does not start as one).`,
  });
}

/** Opens a binary dataset file from a range source. */
export async function openTabular(source: RangeSource, parse: ParseOptions, limits: TabularLimits): Promise<TabularFile> {
  if (parse.format === "parquet") {
    checkMagic("parquet", await source.bytes(0, 4));
    const file = await openParquet(source, limits);
    return { columns: file.columns, batches: file.batches, parse: { format: "parquet" } };
  }
  checkMagic("xlsx", await source.bytes(0, 4));
  const book = await openXlsx(source, { sheet: parse.sheet, ...limits });
  const variant = book.sheet === book.sheets[0] ? {} : { variant: book.sheet };
  return { columns: book.columns, batches: book.batches, parse: { format: "xlsx", sheet: book.sheet }, ...variant };
}

/** Opens the stored binary file at `key`, or null when it is no longer stored. */
export async function openStoredTabular(bucket: R2Bucket, key: string, parse: ParseOptions, limits = READ_BACK_LIMITS) {
  const source = await r2Source(bucket, key);
  return source ? openTabular(source, parse, limits) : null;
}
