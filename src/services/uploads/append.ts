// Appends a tus chunk to its upload: R2 multipart parts of one fixed size, the bytes after the last whole part in a tail object.
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { resumableUploads, type UploadPart } from "../../db/schema.ts";
import { ApiError } from "../../lib/problem.ts";
import type { ResumableUpload } from "../../lib/tenancy.ts";
import { BodyReader } from "../datasets/body-reader.ts";

/**
 * R2 wants every part but the last of one size, at least 5 MiB, and at most 10,000 of them: 5 MiB parts hold 48 GiB,
 * and a request holds one part (and one 256 KB read) in memory whatever its chunk size.
 */
export const PART_BYTES = 5 * 1024 * 1024;

const moved = () =>
  new ApiError(409, {
    code: "UPLOAD_OFFSET_MISMATCH",
    detail: "The upload moved on meanwhile (another request appended to it): ask HEAD for its offset and resume from there.",
  });

export const pastLength = (length: number) =>
  new ApiError(413, { code: "UPLOAD_TOO_LARGE", detail: `The chunk goes past the upload's declared Upload-Length of ${length} bytes.` });

/** Where the bytes after part `parts` wait: named by their start and end, so a stale writer never overwrites a live tail. */
const tailKeyOf = (upload: ResumableUpload, start: number, end: number) => `uploads/${upload.orgId}/${upload.id}/tail-${start}-${end}`;

export interface Appended {
  upload: ResumableUpload;
  /** The connection broke before the chunk's end: what arrived is kept, the rest must be sent again. */
  interrupted: boolean;
}

/**
 * Streams `body` onto the upload at its current offset. Each whole part is stored, then recorded in Postgres under the
 * condition that the offset is still the one this request started from (two requests racing: the second gets 409);
 * what is left at the end (or when the connection drops) becomes the tail. When the last byte is in, the multipart
 * upload is completed into the dataset's object. Returns the upload as recorded.
 */
export async function appendChunk(
  db: Database,
  bucket: R2Bucket,
  start: ResumableUpload,
  body: ReadableStream<Uint8Array> | null,
): Promise<Appended> {
  let upload = start;
  const multipart = bucket.resumeMultipartUpload(upload.r2Key, upload.r2UploadId);
  const parts: UploadPart[] = [...upload.parts];
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  if (upload.tailBytes > 0 && upload.tailKey) {
    const tail = await bucket.get(upload.tailKey, { range: { offset: 0, length: upload.tailBytes } });
    if (!tail) throw new Error(`resumable upload ${upload.id}: its tail object is missing`);
    pending.push(new Uint8Array(await tail.arrayBuffer()));
    pendingBytes = upload.tailBytes;
  }
  /** The file offset where the pending bytes start: the end of the last part (every part is whole until the last). */
  let partsBytes = parts.length * PART_BYTES;
  const partsEnd = () => partsBytes;

  /** Records a new state, if nobody moved the upload meanwhile. */
  const record = async (set: Partial<typeof resumableUploads.$inferInsert>) => {
    const [row] = await db
      .update(resumableUploads)
      .set({ ...set, updatedAt: sql`now()` })
      .where(and(eq(resumableUploads.id, upload.id), eq(resumableUploads.offset, upload.offset), eq(resumableUploads.status, "uploading")))
      .returning();
    if (!row) throw moved();
    upload = row;
  };

  const takePart = (size: number) => {
    const part = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const chunk = pending[0]!;
      const take = Math.min(chunk.length, size - at);
      part.set(take === chunk.length ? chunk : chunk.subarray(0, take), at);
      at += take;
      if (take === chunk.length) pending.shift();
      else pending[0] = chunk.subarray(take);
    }
    pendingBytes -= size;
    return part;
  };

  const storePart = async (size: number) => {
    const uploaded = await multipart.uploadPart(parts.length + 1, takePart(size));
    parts.push({ partNumber: uploaded.partNumber, etag: uploaded.etag });
    partsBytes += size;
    await record({ offset: partsEnd(), parts, tailKey: null, tailBytes: 0 });
  };

  let interrupted = false;
  if (body) {
    const reader = new BodyReader(body);
    try {
      for (;;) {
        let chunk: Uint8Array | undefined;
        try {
          chunk = await reader.read();
        } catch {
          // The client went away mid-chunk: keep what arrived, as tus asks; it resumes from the offset HEAD reports.
          interrupted = true;
          break;
        }
        if (!chunk) break;
        if (partsEnd() + pendingBytes + chunk.length > upload.length) throw pastLength(upload.length);
        pending.push(chunk);
        pendingBytes += chunk.length;
        while (pendingBytes >= PART_BYTES) await storePart(PART_BYTES);
      }
    } catch (error) {
      // Refused (past the length, moved meanwhile) or R2 failed: the rest of the body is not read.
      await reader.cancel().catch(() => {});
      throw error;
    }
  }

  const end = partsEnd() + pendingBytes;
  if (end === upload.length) {
    // The last byte: the rest is the last part (R2 lets it be shorter), then one object at the dataset's key.
    if (pendingBytes > 0) await storePart(pendingBytes);
    await multipart.complete(parts);
    await record({ status: "processing", tailKey: null, tailBytes: 0 });
    await removeTails(bucket, upload).catch(() => {});
    return { upload, interrupted };
  }
  if (end > upload.offset) {
    const key = tailKeyOf(upload, partsEnd(), end);
    await bucket.put(key, concat(pending, pendingBytes));
    await record({ offset: end, parts, tailKey: key, tailBytes: pendingBytes }).catch(async (error: unknown) => {
      await bucket.delete(key).catch(() => {});
      throw error;
    });
    if (start.tailKey && start.tailKey !== key) await bucket.delete(start.tailKey).catch(() => {});
  }
  return { upload, interrupted };
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Aborts the upload's R2 multipart upload and removes its tail: nothing of it is left in R2. */
export async function discardUpload(bucket: R2Bucket, upload: ResumableUpload): Promise<void> {
  if (upload.status === "uploading") {
    await bucket
      .resumeMultipartUpload(upload.r2Key, upload.r2UploadId)
      .abort()
      .catch(() => {});
  }
  await removeTails(bucket, upload);
}

/** Every tail object the upload has (a stale or interrupted writer may have left one besides the recorded tail). */
async function removeTails(bucket: R2Bucket, upload: ResumableUpload) {
  const listed = await bucket.list({ prefix: `uploads/${upload.orgId}/${upload.id}/` });
  if (listed.objects.length > 0) await bucket.delete(listed.objects.map((object) => object.key));
}
