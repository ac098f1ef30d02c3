// A stored object read by byte ranges (R2 `get` with a range): Parquet's footer and column chunks, a zip's directory and entries,
// without the file in memory. Also the AsyncBuffer hyparquet reads through.
import type { AsyncBuffer } from "hyparquet";

export interface RangeSource {
  size: number;
  /** Bytes start…end (end exclusive), in memory: for footers, directories and column chunks. */
  bytes(start: number, end: number): Promise<Uint8Array>;
  /** Bytes start…end as a stream: for a zip entry, inflated as it arrives. */
  stream(start: number, end: number): Promise<ReadableStream<Uint8Array>>;
}

/** Thrown when the object went away between reads (deleted meanwhile). */
export class ObjectGoneError extends Error {}

/** The object at `key` in `bucket`, or null when there is none. */
export async function r2Source(bucket: R2Bucket, key: string): Promise<RangeSource | null> {
  const head = await bucket.head(key);
  if (!head) return null;
  const size = head.size;
  const get = async (start: number, end: number) => {
    const object = await bucket.get(key, { range: { offset: start, length: end - start } });
    if (!object) throw new ObjectGoneError(`the stored object ${key} is gone`);
    return object;
  };
  return {
    size,
    async bytes(start, end) {
      end = Math.min(end, size);
      if (end <= start) return new Uint8Array(0);
      return new Uint8Array(await (await get(start, end)).arrayBuffer());
    },
    async stream(start, end) {
      end = Math.min(end, size);
      if (end <= start) return new ReadableStream({ start: (controller) => controller.close() });
      return (await get(start, end)).body;
    },
  };
}

/** hyparquet's view of a RangeSource. */
export const asyncBuffer = (source: RangeSource): AsyncBuffer => ({
  byteLength: source.size,
  async slice(start, end = source.size) {
    const bytes = await source.bytes(start, end);
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? (bytes.buffer as ArrayBuffer)
      : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  },
});
