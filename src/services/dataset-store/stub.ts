// The way to a dataset version's DatasetStore (the load engineer's naming is the one kept at merge).
import type { DatasetStore } from "../../durable-objects/dataset-store/dataset-store.ts";

export function storeFor(env: { DATASET_STORES: DurableObjectNamespace | DurableObjectNamespace<DatasetStore> }, dataset: { id: string; organizationId?: string; sha256: string }): DurableObjectStub<DatasetStore> {
  const namespace = env.DATASET_STORES as unknown as DurableObjectNamespace<DatasetStore>;
  return namespace.get(namespace.idFromName(dataset.id));
}
