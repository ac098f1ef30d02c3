// The dataset-ingest queue's message: which finished resumable upload to profile into a dataset.
import { z } from "zod";

export const DatasetIngestMessage = z.object({
  uploadId: z.uuid(),
});
export type DatasetIngestMessage = z.infer<typeof DatasetIngestMessage>;
