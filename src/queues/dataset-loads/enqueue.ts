// After an upload or import commits: a job to load the dataset into its store. Sending never fails the upload itself.
import type { Dataset } from "../../lib/tenancy.ts";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { describeError } from "../../lib/logger.ts";
import type { DatasetLoadMessage } from "./message.ts";

/** Queues a load unless the store is ready; a dataset whose load failed (the same bytes uploaded again) gets another try. */
export async function queueDatasetLoad(config: Config, logger: Logger, dataset: Dataset): Promise<void> {
  if (dataset.queryStatus === "ready") return;
  try {
    await config.DATASET_LOAD_QUEUE.send({ datasetId: dataset.id } satisfies DatasetLoadMessage, { contentType: "json" });
  } catch (error) {
    // The dataset is saved; its store stays pending (and says so) rather than the upload answering 500.
    logger.error("dataset load not queued", { datasetId: dataset.id, ...describeError(error) });
  }
}
