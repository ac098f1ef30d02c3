// DatasetStore: one per dataset content (organization + sha256), every row of the file in SQLite. Thin: each method delegates.
import { DurableObject } from "cloudflare:workers";
import {
  type AppendResult,
  appendRows,
  type BeginResult,
  beginLoad,
  destroyStore,
  failLoad,
  finishLoad,
  type LoadResult,
  type LoadResume,
  type LoadStart,
  type PublicMeta,
  releaseLoad,
  type ResumeResult,
  resumeLoad,
  storeMeta,
} from "./load.ts";
import { exactColumnStats, type ExactStatsOutcome, type ExactStatsWanted } from "./exact-stats.ts";
import type { SqlValue } from "../../queues/dataset-loads/values.ts";
import { type QueryOutcome, type QueryRequest, runQuery } from "./query.ts";

export class DatasetStore extends DurableObject<Cloudflare.Env> {
  /** Starts a load (a fresh `dataset` table), or says the store is ready, failed for good, or being loaded. */
  beginLoad(job: LoadStart): BeginResult {
    return beginLoad(this.ctx, job);
  }

  /** A later segment of a load takes over writing (rows past `fromRow` from an earlier try go), or is refused. */
  resumeLoad(job: LoadResume): ResumeResult {
    return resumeLoad(this.ctx, job);
  }

  /** One batch of rows, their values one after another, in one transaction. */
  appendRows(loadId: string, values: SqlValue[], rows: number): AppendResult {
    return appendRows(this.ctx, loadId, values, rows);
  }

  finishLoad(loadId: string, expectedRows: number): LoadResult {
    return finishLoad(this.ctx, loadId, expectedRows);
  }

  /** The delivery writing gave up for now (it will be retried): its retry is not kept waiting as busy. */
  releaseLoad(loadId: string): void {
    releaseLoad(this.ctx, loadId);
  }

  failLoad(loadId: string, error: string): LoadResult {
    return failLoad(this.ctx, loadId, error);
  }

  /** Status, rows, loadedAt, error and columns, from `_store_meta`. */
  meta(): PublicMeta {
    return storeMeta(this.ctx);
  }

  /** Exact distinct count and quantiles of one column of the ready store (exact-stats.ts). */
  exactColumnStats(name: string, wanted: ExactStatsWanted, points: readonly number[]): ExactStatsOutcome {
    return exactColumnStats(this.ctx.storage.sql, name, wanted, points);
  }

  /** One read-only statement over `dataset` (query.ts). */
  query(request: QueryRequest): QueryOutcome {
    return runQuery(this.ctx.storage, request);
  }

  /** Deletes everything the store holds (the purge, once no dataset row uses it). */
  destroy(): Promise<void> {
    return destroyStore(this.ctx);
  }
}
