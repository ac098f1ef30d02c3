// The dataset as an analysis or a chat turn reads it: its version (which store to query) and its profile (what the prompt shows).
import type { datasets } from "../../db/schema.ts";

type DatasetRow = typeof datasets.$inferSelect;

export const datasetInput = (dataset: DatasetRow) => ({
  id: dataset.id,
  orgId: dataset.orgId,
  version: dataset.version,
  sha256: dataset.sha256,
  name: dataset.name,
  rowCount: dataset.rowCount,
  profile: dataset.profile,
  sample: dataset.sample,
  r2Key: dataset.r2Key,
  parseOptions: dataset.parseOptions,
});
