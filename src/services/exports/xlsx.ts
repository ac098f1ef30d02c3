// The session export as an .xlsx workbook: an Analysis sheet (the CSV export's rows before the transcript) and a Messages sheet,
// written as the transcript is read page by page. Cells are inline text, never formulas, so nothing needs the CSV's escaping.
import type { StoredMessage } from "../chat/transcript.ts";
import { XlsxWriter } from "../datasets/formats/xlsx-writer.ts";
import type { ExportBundle } from "./bundle.ts";
import { csvColumns, headRows } from "./formats.ts";

const messageColumns = ["index", "role", "engine", "model", "content", "created_at"] as const;
const headColumns = csvColumns.filter((column) => column !== "role" && column !== "content");

export async function* xlsxExport(bundle: ExportBundle, pages: AsyncIterable<StoredMessage[]>): AsyncGenerator<Uint8Array> {
  const writer = new XlsxWriter();
  writer.startSheet("Analysis", headColumns);
  for (const row of headRows(bundle)) {
    writer.row(headColumns.map((column) => (column === "created_at" && row.created_at ? new Date(row.created_at) : (row[column] ?? null))));
  }
  writer.startSheet("Messages", messageColumns);
  yield* writer.take();
  let index = 0;
  for await (const page of pages) {
    for (const message of page) writer.row([index++, message.role, message.engine, message.model, message.content, message.createdAt]);
    yield* writer.take();
  }
  writer.finish();
  yield* writer.take();
}
