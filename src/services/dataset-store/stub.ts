// Reaching a dataset's store: named by organization + content hash, so identical bytes in one organization share one store.
import type { DatasetStore } from "../../durable-objects/dataset-store/dataset-store.ts";

/** A dataset row (or the part of it that names its store). `orgId` is the row's own field; `organizationId` the same. */
export interface StoreKey {
  id: string;
  organizationId?: string;
  orgId?: string;
  sha256: string;
}

/**
 * The store's name: a re-upload of the same bytes in the organization reuses it (and its load), while
 * another organization's identical file gets a store of its own, which its purge alone can delete.
 */
export function storeName(dataset: StoreKey): string {
  const organization = dataset.organizationId ?? dataset.orgId;
  if (!organization) throw new Error(`dataset ${dataset.id}: a store is named by its organization, which was not given`);
  return `${organization}:${dataset.sha256}`;
}

export function storeFor(
  env: { DATASET_STORES: DurableObjectNamespace<DatasetStore> | DurableObjectNamespace },
  dataset: StoreKey,
): DurableObjectStub<DatasetStore> {
  const namespace = env.DATASET_STORES as unknown as DurableObjectNamespace<DatasetStore>;
  return namespace.get(namespace.idFromName(storeName(dataset)));
}
