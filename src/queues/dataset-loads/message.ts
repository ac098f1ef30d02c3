// The dataset-load queue's message: which dataset to load into its store (everything else is read from Postgres).
import { z } from "zod";

export const DatasetLoadMessage = z.object({
  datasetId: z.uuid(),
});
export type DatasetLoadMessage = z.infer<typeof DatasetLoadMessage>;
