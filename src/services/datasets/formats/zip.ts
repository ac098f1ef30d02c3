// A zip archive read by range reads: its central directory, then an entry's bytes streamed and inflated as they arrive, every
// inflated byte counted against one budget so a zip bomb is refused once it passes the limit, not after it filled memory.
import { ApiError } from "../../../lib/problem.ts";
import type { RangeSource } from "./range-source.ts";

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04]; // "PK\3\4"
/** The end-of-central-directory record is at most 22 bytes plus a 65,535-byte comment from the end. */
const EOCD_SEARCH = 22 + 65_535;
/**
 * Compressed bytes handed to the inflater at a time. It answers each write with everything that write inflates to, in one chunk,
 * and a range read may arrive in chunks of megabytes: XML deflates 10-20 to 1 (a bomb over 1,000 to 1), so an unsliced chunk
 * would inflate to tens or hundreds of megabytes at once, before the budget could see it.
 */
const INFLATE_INPUT_BYTES = 16 * 1024;
/** A spreadsheet's directory is a few kilobytes; past this it is not one. */
const MAX_DIRECTORY_BYTES = 8 * 1024 * 1024;

const malformed = (detail: string) =>
  new ApiError(422, { code: "XLSX_MALFORMED", detail: `The file is not a readable .xlsx workbook: ${detail}.` });

/** Inflated bytes allowed across every entry read from one workbook (each pass counts). */
export class InflateBudget {
  used = 0;
  constructor(readonly limit: number) {}

  take(bytes: number) {
    this.used += bytes;
    if (this.used > this.limit)
      throw new ApiError(422, {
        code: "XLSX_TOO_LARGE",
        detail: `The workbook decompresses to more than ${this.limit} bytes (MAX_XLSX_INFLATED_BYTES): refused as a possible zip bomb.`,
      });
  }
}

/** The archive's entries by name, from its central directory. */
export async function zipEntries(source: RangeSource): Promise<Map<string, ZipEntry>> {
  if (source.size < 22) throw malformed("it is too short to be a zip archive");
  const tailStart = Math.max(0, source.size - EOCD_SEARCH);
  const tail = await source.bytes(tailStart, source.size);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw malformed("its zip directory is missing (truncated?)");
  const count = view.getUint16(eocd + 10, true);
  const directorySize = view.getUint32(eocd + 12, true);
  const directoryOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || directoryOffset === 0xffffffff) throw malformed("zip64 archives are not read");
  if (directorySize > MAX_DIRECTORY_BYTES || directoryOffset + directorySize > tailStart + eocd)
    throw malformed("its zip directory is out of bounds");
  const directory = await source.bytes(directoryOffset, directoryOffset + directorySize);
  const dir = new DataView(directory.buffer, directory.byteOffset, directory.byteLength);
  const decoder = new TextDecoder();
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > directory.length || dir.getUint32(at, true) !== 0x02014b50) throw malformed("its zip directory is damaged");
    const nameLength = dir.getUint16(at + 28, true);
    const extraLength = dir.getUint16(at + 30, true);
    const commentLength = dir.getUint16(at + 32, true);
    if (at + 46 + nameLength > directory.length) throw malformed("its zip directory is damaged");
    const name = decoder.decode(directory.subarray(at + 46, at + 46 + nameLength));
    entries.set(name, {
      name,
      flags: dir.getUint16(at + 8, true),
      method: dir.getUint16(at + 10, true),
      compressedSize: dir.getUint32(at + 20, true),
      size: dir.getUint32(at + 24, true),
      localOffset: dir.getUint32(at + 42, true),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Chunks cut to at most `size` bytes (views, not copies). */
const slices = (size: number) =>
  new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      for (let at = 0; at < chunk.length; at += size) controller.enqueue(chunk.subarray(at, at + size));
    },
  });

/** The entry's inflated bytes as a stream, each chunk counted against `budget`. */
export async function entryStream(source: RangeSource, entry: ZipEntry, budget: InflateBudget): Promise<ReadableStream<Uint8Array>> {
  if (entry.flags & 1) throw malformed(`${entry.name} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8) throw malformed(`${entry.name} uses compression method ${entry.method}`);
  const local = await source.bytes(entry.localOffset, entry.localOffset + 30);
  const view = new DataView(local.buffer, local.byteOffset, local.byteLength);
  if (local.length < 30 || view.getUint32(0, true) !== 0x04034b50) throw malformed(`the entry ${entry.name} is damaged`);
  const start = entry.localOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
  const end = start + entry.compressedSize;
  if (end > source.size) throw malformed(`the entry ${entry.name} runs past the end of the file (truncated?)`);
  const raw = await source.stream(start, end);
  const inflated =
    entry.method === 8
      ? raw.pipeThrough(slices(INFLATE_INPUT_BYTES)).pipeThrough(new DecompressionStream("deflate-raw"))
      : raw.pipeThrough(slices(INFLATE_INPUT_BYTES * 16));
  return inflated.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        budget.take(chunk.length);
        controller.enqueue(chunk);
      },
    }),
  );
}

/** The entry's inflated chunks, read as they are asked for; a failure of the inflater (damaged data) is XLSX_MALFORMED. */
export async function* entryChunks(source: RangeSource, entry: ZipEntry, budget: InflateBudget): AsyncGenerator<Uint8Array> {
  const reader = (await entryStream(source, entry, budget)).getReader();
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (error) {
        if (error instanceof ApiError) throw error;
        throw malformed(`the entry ${entry.name} does not inflate (damaged)`);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
