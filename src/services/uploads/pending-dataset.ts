// A dataset id a resumable upload reserved, before its dataset is saved: the state it is in, the representation
// GET /datasets/{id} gives it, and the problem every other dataset route answers for it.
import { ApiError } from "../../lib/problem.ts";
import type { ResumableUpload } from "../../lib/tenancy.ts";
import type { DatasetProgress } from "./progress.ts";

/** How long a client should wait before asking again about a dataset still on its way. */
const RETRY_AFTER_SECONDS = 5;
const EXPIRED = "The upload expired unfinished and was aborted; start a new one.";

export type PendingStatus = "uploading" | "processing" | "failed";

/** uploading until the last byte, processing while the job runs or waits, failed for good (an expired upload included). */
export function pendingStatus(upload: ResumableUpload): PendingStatus {
  if (upload.status === "uploading") return upload.expiresAt.getTime() <= Date.now() ? "failed" : "uploading";
  return upload.status === "processing" ? "processing" : "failed";
}

const errorOf = (upload: ResumableUpload) => (upload.status === "uploading" ? EXPIRED : (upload.error ?? "The upload failed."));

/** The dataset as far as it is known: what the upload declared, the upload itself to follow, and the job's last progress. */
export function pendingDataset(id: string, upload: ResumableUpload, progress: DatasetProgress | null) {
  const status = pendingStatus(upload);
  return {
    id,
    projectId: upload.projectId,
    name: upload.name,
    format: upload.format,
    status,
    error: status === "failed" ? errorOf(upload) : null,
    sizeBytes: upload.length,
    onError: upload.metadata.onError === "skip" ? ("skip" as const) : ("fail" as const),
    createdBy: upload.createdBy,
    createdAt: upload.createdAt.toISOString(),
    progress: status === "processing" ? progress : null,
    upload: {
      id: upload.id,
      url: `/api/v1/uploads/${upload.id}`,
      offset: upload.offset,
      length: upload.length,
      expiresAt: upload.expiresAt.toISOString(),
    },
  };
}

/** What a route that needs the saved dataset answers for one still pending: 409, with Retry-After while it may yet be ready. */
export function notReady(id: string, upload: ResumableUpload): ApiError {
  const status = pendingStatus(upload);
  const extensions = { datasetStatus: status, uploadId: upload.id };
  if (status === "failed")
    return new ApiError(409, {
      code: "UPLOAD_FAILED",
      detail: `The upload that reserved this dataset id failed, so the dataset will not exist: ${errorOf(upload)}`,
      extensions,
    });
  const detail =
    status === "uploading"
      ? `The dataset is still uploading (${upload.offset} of ${upload.length} bytes): send the rest to /api/v1/uploads/${upload.id} (or DELETE it there to abort).`
      : `The dataset is being processed; follow GET /api/v1/datasets/${id}/events, or try again shortly.`;
  return new ApiError(409, { code: "DATASET_NOT_READY", detail, headers: { "Retry-After": String(RETRY_AFTER_SECONDS) }, extensions });
}
