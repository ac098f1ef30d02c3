// The upload pipeline: one pass over the body, streaming it to R2, hashing it and profiling its rows at once.
import { ApiError } from "../../lib/problem.ts";
import { type Cell, type Profile, Profiler } from "./profiler.ts";
import { type ParseOptions, rowsOf } from "./parsers.ts";

export interface Limits {
  maxBytes: number;
  maxRows: number;
  maxColumns: number;
}

export interface Ingested {
  sizeBytes: number;
  sha256: string;
  columns: string[];
  rowCount: number;
  profile: Profile;
  sample: Record<string, Cell>[];
  parse: ParseOptions;
}

/** R2 multipart parts must be at least 5 MiB (but the last): memory holds one part at a time. */
const PART_BYTES = 5 * 1024 * 1024;
const SAMPLE_ROWS = 20;

const toHex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, "0")).join("");

/**
 * Streams `body` into R2 at `key` while hashing and profiling it. On any failure (a limit, bad
 * data, a dropped connection) the multipart upload is aborted: no object is left behind.
 */
export async function ingest(body: ReadableStream<Uint8Array>, parse: ParseOptions, bucket: R2Bucket, key: string, contentType: string, limits: Limits): Promise<Ingested> {
  const upload = await bucket.createMultipartUpload(key, { httpMetadata: { contentType } });
  const parts: R2UploadedPart[] = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let sizeBytes = 0;
  const digest = new crypto.DigestStream("SHA-256");
  const hasher = digest.getWriter();

  /** R2 wants every part but the last of one size: cut exactly PART_BYTES (or, at the end, what is left). */
  const flushPart = async (size = pendingBytes) => {
    if (size === 0) return;
    const part = new Uint8Array(size);
    let offset = 0;
    while (offset < size) {
      const chunk = pending[0]!;
      const take = Math.min(chunk.length, size - offset);
      part.set(take === chunk.length ? chunk : chunk.subarray(0, take), offset);
      offset += take;
      if (take === chunk.length) pending.shift();
      else pending[0] = chunk.subarray(take);
    }
    pendingBytes -= size;
    parts.push(await upload.uploadPart(parts.length + 1, part));
  };

  // Every byte passes here once on its way to the parser: counted, checked, hashed, stored.
  const tap = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      sizeBytes += chunk.length;
      if (sizeBytes > limits.maxBytes) {
        throw new ApiError(413, { code: "UPLOAD_TOO_LARGE", detail: `The file is larger than the limit of ${limits.maxBytes} bytes.` });
      }
      if (chunk.includes(0)) throw new ApiError(422, { code: "BINARY_FILE", detail: "The file holds binary data (a NUL byte); upload CSV or JSON text." });
      await hasher.write(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= PART_BYTES) await flushPart(PART_BYTES);
      controller.enqueue(chunk);
    },
  });

  try {
    const text = body.pipeThrough(tap).pipeThrough(new TextDecoderStream("utf-8", { fatal: true }));
    const { columns, rows, options } = await rowsOf(text, parse);
    if (columns.length > limits.maxColumns) {
      throw new ApiError(422, { code: "TOO_MANY_COLUMNS", detail: `The file has ${columns.length} columns; the limit is ${limits.maxColumns}.` });
    }
    const profiler = new Profiler(columns);
    const sample: Cell[][] = [];
    for await (const batch of rows) {
      if (profiler.rowCount + batch.length > limits.maxRows) {
        throw new ApiError(422, { code: "TOO_MANY_ROWS", detail: `The file has more than ${limits.maxRows} rows, the limit.` });
      }
      if (columns.length > limits.maxColumns) {
        throw new ApiError(422, { code: "TOO_MANY_COLUMNS", detail: `The file has more than ${limits.maxColumns} columns, the limit.` });
      }
      for (const row of batch) profiler.add(row);
      for (const row of batch.slice(0, SAMPLE_ROWS - sample.length)) sample.push(row);
    }
    if (sizeBytes === 0) throw new ApiError(422, { code: "EMPTY_FILE", detail: "The file is empty." });
    if (profiler.rowCount === 0) throw new ApiError(422, { code: "EMPTY_FILE", detail: "The file has no data rows." });

    await flushPart();
    await hasher.close();
    const sha256 = toHex(await digest.digest);
    await upload.complete(parts);
    return {
      sizeBytes,
      sha256,
      columns: [...columns],
      rowCount: profiler.rowCount,
      profile: profiler.result(),
      sample: sample.map((row) => Object.fromEntries(columns.map((name, i) => [name, row[i] ?? null]))),
      parse: options,
    };
  } catch (error) {
    await upload.abort().catch(() => {});
    if (error instanceof TypeError && /decode|utf-?8|encoding/i.test(error.message)) {
      throw new ApiError(422, { code: "NOT_UTF8", detail: "The file is not UTF-8 text." });
    }
    throw error;
  }
}
