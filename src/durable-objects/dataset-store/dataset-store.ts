// DatasetStore: one per dataset content (organization + sha256), every row of the file in SQLite. Thin: each method delegates.
import { DurableObject } from "cloudflare:workers";
import { destroyStore, type LoadJob, type LoadResult, loadStore, storeMeta } from "./load.ts";
import type { StoreMeta } from "./meta.ts";

export class DatasetStore extends DurableObject<Cloudflare.Env> {
  /** Loads the file into the `dataset` table (a no-op when these bytes are loaded already). */
  load(job: LoadJob): Promise<LoadResult> {
    return loadStore(this.ctx, this.env, job);
  }

  /** Status, rows, loadedAt, error and columns, from `_store_meta`. */
  meta(): Omit<StoreMeta, "loadId"> {
    return storeMeta(this.ctx);
  }

  /** Deletes everything the store holds (the purge, once no dataset row uses it). */
  destroy(): Promise<void> {
    return destroyStore(this.ctx);
  }
}
