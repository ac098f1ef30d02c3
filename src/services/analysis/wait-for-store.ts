// Waits (a bounded poll of the store's own status) for a dataset's store to be ready before an analysis queries it.
import type { Config } from "../../env.ts";
import { type StoreKey, storeFor } from "../dataset-store/stub.ts";

/** Between looks at the store: a load of a large file takes seconds, and each look is one cheap RPC. */
const POLL_MS = 250;

export interface StoreWait {
  ready: boolean;
  /** The store's last status ("pending", "loading", "ready", "failed"). */
  status: string;
  /** Rows in the store once ready. */
  rows: number;
  waitedMs: number;
}

/**
 * Resolves once the store of `dataset` is ready, or has failed, or `maxMs` has passed. `onWait` is called once, when the first look
 * finds it not ready yet (so a streamed analysis can say it is waiting).
 */
export async function waitForStore(
  config: Config,
  dataset: { id: string; orgId: string; sha256: string; parseOptions: StoreKey["parseOptions"] },
  maxMs: number,
  onWait: (status: string) => Promise<void>,
): Promise<StoreWait> {
  const started = Date.now();
  const store = storeFor(config, {
    id: dataset.id,
    organizationId: dataset.orgId,
    sha256: dataset.sha256,
    parseOptions: dataset.parseOptions,
  });
  let told = false;
  for (;;) {
    const meta = await store.meta();
    const waitedMs = Date.now() - started;
    if (meta.status === "ready") return { ready: true, status: meta.status, rows: meta.rows, waitedMs };
    if (meta.status === "failed" || waitedMs >= maxMs) return { ready: false, status: meta.status, rows: 0, waitedMs };
    if (!told) {
      told = true;
      await onWait(meta.status);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, maxMs - waitedMs)));
  }
}
