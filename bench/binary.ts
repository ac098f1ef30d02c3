// Parquet and Excel upload throughput (BENCH_ONLY=binary): files of the bench CSV's rows, written in Node (hyparquet-writer, and
// the Worker's own xlsx writer for a subset: a workbook of every row takes long to write and read), uploaded to the heap-capped
// runtime; MB/s and rows/s of the upload (stored, read back from R2, profiled), and the time until the store is ready.
import { type ColumnSource, parquetWriteBuffer } from "hyparquet-writer";
import { XlsxWriter } from "../src/services/datasets/formats/xlsx-writer.ts";

export interface BinaryBench {
  url: string;
  auth: Record<string, string>;
  newProject: (name: string) => Promise<string>;
  waitForStore: (id: string) => Promise<{ status: string; rows: number | null }>;
  /** The peak heap (MB) of the runtime's isolates since `mark()`. */
  mark: () => () => number;
}

/** Rows of excel's subset: a workbook of 200,000 rows is about a fifth of the CSV. */
const XLSX_ROWS = 200_000;

const typed = (cell: string) =>
  cell === "true" || cell === "false" ? cell === "true" : /^-?\d+(\.\d+)?$/.test(cell) ? Number(cell) : cell.replace(/^"|"$/g, "");

export async function measureBinary(csv: Buffer, bench: BinaryBench) {
  // The projects first: a pooled connection left idle while the files are written (seconds of a held event loop) is closed under it.
  const projects = [await bench.newProject("bench parquet"), await bench.newProject("bench xlsx")];
  const lines = csv.toString("utf8").split("\n").filter(Boolean);
  const header = lines[0]!.split(",");
  const rows = lines.slice(1).map((line) => line.split(",").map(typed));
  const columns = header.map((_, i) => rows.map((row) => row[i]!));
  // Typed as the profile types the CSV: integers INT64, numbers DOUBLE, booleans, the day a TIMESTAMP, the rest text.
  const columnData: ColumnSource[] = header.map((name, i) => {
    const data = columns[i]!;
    if (name === "day") return { name, data: (data as string[]).map((day) => new Date(`${day}T00:00:00Z`)), type: "TIMESTAMP" };
    if (typeof data[0] === "boolean") return { name, data: data as boolean[], type: "BOOLEAN" };
    if (typeof data[0] !== "number") return { name, data: data as string[], type: "STRING" };
    const integers = (data as number[]).every(Number.isInteger);
    return integers ? { name, data: (data as number[]).map(BigInt), type: "INT64" } : { name, data: data as number[], type: "DOUBLE" };
  });
  const parquet = new Uint8Array(parquetWriteBuffer({ columnData, rowGroupSize: 65_536 }));
  const writer = new XlsxWriter();
  writer.startSheet("bench", header);
  const chunks: Uint8Array[] = [];
  for (const row of rows.slice(0, XLSX_ROWS)) {
    writer.row(header.map((name, i) => (name === "day" ? new Date(`${row[i]}T00:00:00Z`) : row[i])));
    chunks.push(...writer.take());
  }
  writer.finish();
  chunks.push(...writer.take());
  const xlsx = Buffer.concat(chunks);

  const out = [];
  for (const [index, [format, type, bytes, count]] of (
    [
      ["parquet", "application/vnd.apache.parquet", parquet, rows.length],
      [
        "xlsx (200k-row subset)",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        xlsx,
        Math.min(XLSX_ROWS, rows.length),
      ],
    ] as const
  ).entries()) {
    const projectId = projects[index]!;
    const peak = bench.mark();
    const started = performance.now();
    const answer = await fetch(`${bench.url}/api/v1/projects/${projectId}/datasets?name=bench`, {
      method: "POST",
      headers: { ...bench.auth, "content-type": type },
      body: new Uint8Array(bytes),
    })
      .then(async (response) => ({
        ...((await response.json()) as { id?: string; rowCount?: number; code?: string }),
        status: response.status,
      }))
      .catch((error: unknown) => ({ status: 0, id: undefined, rowCount: undefined, code: `failed: ${String(error)}` }));
    const seconds = (performance.now() - started) / 1000;
    const store = answer.id ? await bench.waitForStore(answer.id) : null;
    const ready = (performance.now() - started) / 1000;
    const result = {
      format,
      status: answer.status,
      fileMB: Math.round(bytes.length / 100_000) / 10,
      rows: answer.rowCount ?? answer.code ?? null,
      expectedRows: count,
      seconds: Math.round(seconds * 100) / 100,
      mbPerSecond: Math.round((bytes.length / 1_000_000 / seconds) * 10) / 10,
      rowsPerSecond: Math.round(count / seconds),
      secondsToReady: store?.status === "ready" ? Math.round(ready * 100) / 100 : null,
      peakHeapMB: peak(),
    };
    console.log("[bench]", JSON.stringify(result));
    out.push(result);
  }
  return out;
}
