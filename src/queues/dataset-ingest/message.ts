// The dataset-ingest queue's message: which finished resumable upload to profile into a dataset, and for a file profiled
// in segments (see segments.ts) the byte the next segment starts from (absent: the upload's first message).
import { z } from "zod";

export const DatasetIngestMessage = z.object({
  uploadId: z.uuid(),
  fromByte: z.number().int().min(0).optional(),
});
export type DatasetIngestMessage = z.infer<typeof DatasetIngestMessage>;
