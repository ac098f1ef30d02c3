// The tus 1.0 protocol's fixed parts: what this server speaks, its headers, and Upload-Metadata.
import type { Config } from "../../env.ts";
import { ApiError } from "../../lib/problem.ts";

export const TUS_VERSION = "1.0.0";
export const TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration";
/** The media type of a chunk (PATCH, or the first chunk with creation-with-upload). */
export const CHUNK_TYPE = "application/offset+octet-stream";

/** Upload-Metadata: `key base64value` pairs separated by commas (a key alone means an empty value). */
export function parseMetadata(header: string | undefined): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (!header?.trim()) return metadata;
  for (const pair of header.split(",")) {
    const [key, value = "", ...rest] = pair.trim().split(" ");
    if (!key || rest.length > 0 || !/^[\x21-\x7e]+$/.test(key) || key in metadata) throw badMetadata();
    try {
      metadata[key] = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
        Uint8Array.from(atob(value), (char) => char.charCodeAt(0)),
      );
    } catch {
      throw badMetadata();
    }
  }
  return metadata;
}

const badMetadata = () =>
  new ApiError(400, {
    code: "BAD_REQUEST",
    detail: "Upload-Metadata must be comma-separated `key base64(value)` pairs with distinct keys and UTF-8 values.",
  });

export function metadataHeader(metadata: Record<string, string>): string {
  const base64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
  return Object.entries(metadata)
    .map(([key, value]) => (value === "" ? key : `${key} ${base64(value)}`))
    .join(",");
}

/** Upload-Offset / Upload-Length: a non-negative byte count in digits (tus forbids anything else). */
export function byteCount(header: string | undefined, name: string): number | undefined {
  if (header === undefined) return undefined;
  if (!/^\d{1,16}$/.test(header.trim())) throw new ApiError(400, { code: "BAD_REQUEST", detail: `${name} must be a byte count.` });
  return Number(header.trim());
}

/** Every tus request but OPTIONS names the protocol version; this server speaks 1.0.0 only (412 with Tus-Version otherwise). */
export function requireTusResumable(header: string | undefined) {
  if (header?.trim() === TUS_VERSION) return;
  throw new ApiError(412, {
    code: "PRECONDITION_FAILED",
    detail: `Send Tus-Resumable: ${TUS_VERSION}; it is the tus version this server speaks.`,
    headers: { "Tus-Version": TUS_VERSION, "Tus-Resumable": TUS_VERSION },
  });
}

/** Upload-Expires is an HTTP date (RFC 9110 IMF-fixdate). */
export const httpDate = (at: Date) => at.toUTCString();

/** A file read in one job (not a UTF-8 CSV) past MAX_SINGLE_JOB_UPLOAD_BYTES: refused, as a job's CPU is bounded. */
export const tooLargeForOneJob = (format: string, config: Pick<Config, "MAX_SINGLE_JOB_UPLOAD_BYTES" | "MAX_RESUMABLE_UPLOAD_BYTES">) =>
  new ApiError(413, {
    code: "UPLOAD_TOO_LARGE",
    detail: `This ${format} file would be read in one job, so it may be at most ${config.MAX_SINGLE_JOB_UPLOAD_BYTES} bytes; only a UTF-8 CSV is read in segments, up to ${config.MAX_RESUMABLE_UPLOAD_BYTES} bytes.`,
  });
