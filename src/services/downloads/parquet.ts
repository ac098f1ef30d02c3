// A dataset's rows written as Parquet (hyparquet-writer), one bounded row group at a time, each handed on as soon as it is written.
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import type { SchemaElement } from "hyparquet";
import type { Cell, ColumnProfile } from "../datasets/profile/types.ts";
import { converter, parquetKind, type ParquetKind } from "./cells.ts";

/** A row group holds at most this many cells (and at most MAX_GROUP_ROWS rows): what bounds memory, with one input chunk. */
const GROUP_CELLS = 131_072;
const MAX_GROUP_ROWS = 65_536;
const MIN_GROUP_ROWS = 1_024;
/** The writer hands bytes on once it holds this many (inside a row group too). */
const CHUNK_BYTES = 1024 * 1024;

export const rowsPerGroup = (columns: number) =>
  Math.max(MIN_GROUP_ROWS, Math.min(MAX_GROUP_ROWS, Math.floor(GROUP_CELLS / Math.max(1, columns))));

/** A ByteWriter that never grows past a chunk: what it holds is cut off into `chunks` for the caller to send (as hyparquet-writer's own file writer does). */
class ChunkWriter extends ByteWriter {
  private chunks: Uint8Array[] = [];

  constructor() {
    super(CHUNK_BYTES + 64 * 1024);
  }

  override ensure(size: number) {
    if (this.index >= CHUNK_BYTES) this.cut();
    super.ensure(size);
  }

  private cut() {
    if (this.index === 0) return;
    this.chunks.push(new Uint8Array(this.buffer.slice(0, this.index)));
    this.index = 0;
  }

  /** Everything written so far that was not taken yet. */
  take(): Uint8Array[] {
    this.cut();
    const taken = this.chunks;
    this.chunks = [];
    return taken;
  }

  override getBuffer(): ArrayBuffer {
    throw new Error("a streamed Parquet writer keeps no whole file");
  }
}

const element = (name: string, kind: ParquetKind): SchemaElement => {
  const repetition_type = "OPTIONAL";
  switch (kind) {
    case "INT64":
    case "DOUBLE":
    case "BOOLEAN":
      return { name, type: kind, repetition_type };
    case "TIMESTAMP":
      return {
        name,
        type: "INT64",
        converted_type: "TIMESTAMP_MILLIS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
        repetition_type,
      };
    case "STRING":
      return { name, type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" }, repetition_type };
  }
};

/** Column names as Parquet needs them: unique (a repeated name gets _2, _3…). */
function uniqueNames(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => {
    let unique = name;
    for (let n = 2; taken.has(unique); n++) unique = `${name}_${n}`;
    taken.add(unique);
    return unique;
  });
}

export interface ParquetSource {
  columns: readonly Pick<ColumnProfile, "name" | "type" | "min" | "max">[];
  /** Key/value metadata for the file's footer (where the rows came from). */
  metadata: Record<string, string>;
}

/**
 * The Parquet file's bytes, in order, as `rows` (arrays of cells in the order of `columns`) are read:
 * a row group is written, and its bytes yielded, every rowsPerGroup(columns) rows.
 */
export async function* parquetChunks(rows: AsyncIterable<Cell[][]>, { columns, metadata }: ParquetSource): AsyncGenerator<Uint8Array> {
  const kinds = columns.map(parquetKind);
  const names = uniqueNames(columns.map((column) => column.name));
  const converters = kinds.map(converter);
  const writer = new ChunkWriter();
  const pq = new ParquetWriter({
    writer,
    schema: [{ name: "root", num_children: columns.length }, ...names.map((name, i) => element(name, kinds[i]!))],
    kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    createdBy: "datacrafted (hyparquet-writer 0.17.0)",
  });
  const groupRows = rowsPerGroup(columns.length);
  let data = columns.map(() => [] as unknown[]);
  let held = 0;
  const writeGroup = () => {
    // Synchronous: the writer has no flush(), so write() returns once the group is encoded.
    void pq.write({ columnData: names.map((name, i) => ({ name, data: data[i]! as never })), rowGroupSize: held });
    data = columns.map(() => []);
    held = 0;
  };
  for await (const batch of rows) {
    for (const row of batch) {
      for (let i = 0; i < converters.length; i++) data[i]!.push(converters[i]!(row[i]));
      if (++held === groupRows) writeGroup();
    }
    yield* writer.take();
  }
  if (held > 0) writeGroup();
  void pq.finish();
  yield* writer.take();
}
