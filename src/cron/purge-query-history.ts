// Cron job: a data source's query history (text and params as sent) is kept QUERY_HISTORY_DAYS, deleted in bounded batches.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { dataSourceQueries } from "../db/schema.ts";
import { deleteInBatches } from "./delete-in-batches.ts";

export const purgeQueryHistory = (
  db: Database,
  { days, batchSize = 1_000, maxBatches = 10 }: { days: number; batchSize?: number; maxBatches?: number },
) => deleteInBatches(db, dataSourceQueries, sql`created_at < now() - make_interval(days => ${days})`, { batchSize, maxBatches });
