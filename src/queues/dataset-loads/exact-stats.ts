// After a load: the upload's estimated figures (distinct counts past the exact range, quantiles from a sample) replaced by
// exact ones computed with SQL in the dataset's store, and marked exact. Called once, where the load finishes (consumer.ts),
// after the dataset is ready: queries need not wait for it, and the profile says which figures are still estimates meanwhile.
import { eq } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import type { ColumnProfile } from "../../db/dataset-documents.ts";
import { datasets } from "../../db/schema.ts";
import type { ExactColumnStats } from "../../durable-objects/dataset-store/exact-stats.ts";
import type { Config } from "../../env.ts";
import { describeError, type Logger } from "../../lib/logger.ts";
import type { Dataset } from "../../lib/tenancy.ts";
import { storeFor } from "../../services/dataset-store/stub.ts";
import { QUANTILE_POINTS } from "../../services/datasets/profile/column-profiler.ts";

const isNumeric = (column: ColumnProfile) => column.type === "integer" || column.type === "number";
/** What the profile could only estimate (a profile from before the flags were kept says nothing: its figures are taken as estimates). */
const estimated = (column: ColumnProfile) => ({
  distinct: column.approximate?.distinct !== false,
  quantiles: isNumeric(column) && column.approximate?.quantiles !== false,
});

/**
 * Recomputes every estimated figure of the dataset's profile over its ready store, one column per
 * request and only the figures that were estimates (exact ones stay), and saves the profile once. A failure leaves the estimates (still marked so) and is logged:
 * the load itself succeeded.
 */
export async function replaceEstimates(config: Config, db: Database, logger: Logger, dataset: Dataset): Promise<void> {
  const wanted = dataset.profile.columns.filter((column) => estimated(column).distinct || estimated(column).quantiles);
  if (wanted.length === 0) return;
  const started = Date.now();
  try {
    const store = storeFor(config, dataset);
    const exact = new Map<string, ExactColumnStats>();
    for (const column of wanted) {
      const outcome = await store.exactColumnStats(column.name, estimated(column), QUANTILE_POINTS);
      if (!outcome.ok) throw new Error(outcome.error);
      exact.set(column.name, outcome.stats);
    }
    const columns = dataset.profile.columns.map((column): ColumnProfile => {
      const stats = exact.get(column.name);
      if (!stats) return column;
      return {
        ...column,
        distinct: stats.distinct ?? column.distinct,
        quantiles: isNumeric(column) && estimated(column).quantiles ? stats.quantiles : column.quantiles,
        approximate: { distinct: false, quantiles: false },
      };
    });
    await db
      .update(datasets)
      .set({ profile: { ...dataset.profile, columns } })
      .where(eq(datasets.id, dataset.id));
    logger.info("exact statistics replaced the estimates", { datasetId: dataset.id, columns: wanted.length, ms: Date.now() - started });
  } catch (error) {
    logger.warn("exact statistics failed; the profile keeps its estimates", { datasetId: dataset.id, ...describeError(error) });
  }
}
