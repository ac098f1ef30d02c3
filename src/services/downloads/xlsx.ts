// A dataset's rows written as an .xlsx workbook of one sheet, typed by the profile as the Parquet download is (see cells.ts).
import type { Cell, ColumnProfile } from "../datasets/profile/types.ts";
import { XlsxWriter } from "../datasets/formats/xlsx-writer.ts";
import { converter, parquetKind } from "./cells.ts";

export interface XlsxSource {
  columns: readonly Pick<ColumnProfile, "name" | "type" | "min" | "max">[];
  sheet: string;
}

/** The workbook's bytes, in order, as `rows` are read: numbers as numbers, datetimes as dates, booleans, text inline. */
export async function* xlsxChunks(rows: AsyncIterable<Cell[][]>, { columns, sheet }: XlsxSource): AsyncGenerator<Uint8Array> {
  const converters = columns.map((column) => converter(parquetKind(column)));
  const writer = new XlsxWriter();
  writer.startSheet(
    sheet,
    columns.map((column) => column.name),
  );
  for await (const batch of rows) {
    for (const row of batch) writer.row(converters.map((convert, i) => convert(row[i])));
    yield* writer.take();
  }
  writer.finish();
  yield* writer.take();
}
