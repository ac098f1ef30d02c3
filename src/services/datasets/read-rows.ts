// Reads rows back from a stored dataset file, parsing only as far as the page needs.
import { textDecoderFor } from "./encoding.ts";
import type { ParseOptions } from "./parsers.ts";
import { JSON_DEPTH_CEILING, rowsOf } from "./parsers.ts";
import { coerceRow, coercersFor } from "./type-overrides.ts";
import { isBinaryFormat, openStoredTabular } from "./formats/tabular.ts";
import type { Cell } from "./profile/types.ts";

export interface StoredFile {
  r2Key: string;
  parseOptions: ParseOptions;
}

/** Rows `offset`… (at most `limit`) as records, or null when the file is no longer stored. */
export async function readRows(
  bucket: R2Bucket,
  file: StoredFile,
  offset: number,
  limit: number,
): Promise<{ columns: string[]; rows: Record<string, unknown>[] } | null> {
  let columns: readonly string[];
  let rows: AsyncGenerator<Cell[][]>;
  if (isBinaryFormat(file.parseOptions.format)) {
    const opened = await openStoredTabular(bucket, file.r2Key, file.parseOptions);
    if (!opened) return null;
    ({ columns } = opened);
    rows = opened.batches();
  } else {
    const object = await bucket.get(file.r2Key);
    if (!object) return null;
    const text = object.body.pipeThrough(textDecoderFor(file.parseOptions.encoding, false));
    ({ columns, rows } = await rowsOf(text, file.parseOptions, { maxDepth: JSON_DEPTH_CEILING }));
  }
  const out: Record<string, unknown>[] = [];
  const coercers = coercersFor(columns, file.parseOptions.types);
  let index = 0;
  reading: for await (const batch of rows) {
    for (const row of batch) {
      if (index++ < offset) continue;
      if (coercers) coerceRow(row, coercers);
      out.push(Object.fromEntries(columns.map((column, i) => [column, row[i] ?? null])));
      if (out.length >= limit) break reading;
    }
  }
  await rows.return(undefined);
  return { columns: [...columns], rows: out };
}
