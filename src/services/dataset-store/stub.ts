// Reaching a dataset's store: named by organization + content hash, so identical bytes in one organization share one store.
import type { ParseOptions } from "../../db/dataset-documents.ts";
import type { DatasetStore } from "../../durable-objects/dataset-store/dataset-store.ts";

/** A dataset row (or the part of it that names its store). `orgId` is the row's own field; `organizationId` the same. */
export interface StoreKey {
  id: string;
  organizationId?: string;
  orgId?: string;
  sha256: string;
  /** Its type overrides make other values of the same bytes: a store (and cached results) of their own. */
  parseOptions?: Pick<ParseOptions, "types">;
}

/** Overrides as text whatever order their keys come in (Postgres' jsonb reorders them). */
export const canonicalTypes = (types: readonly { column: string; type: string; format?: string }[]) =>
  JSON.stringify(types.map(({ column, type, format }) => [column, type, format ?? null]));

/** FNV-1a over text, in hex: a short stable name for a list of type overrides (a store name is made synchronously). */
function fnv(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/**
 * What a dataset version's values are made of: its bytes' sha256, and the type overrides it reads them with (when it has
 * any). Versions of equal content share a store and cached query results.
 */
export function contentKey(dataset: Pick<StoreKey, "sha256" | "parseOptions">): string {
  const types = dataset.parseOptions?.types;
  return types?.length ? `${dataset.sha256}.t${fnv(canonicalTypes(types))}` : dataset.sha256;
}

/**
 * The store's name: a re-upload of the same bytes in the organization reuses it (and its load), while
 * another organization's identical file gets a store of its own, which its purge alone can delete.
 */
export function storeName(dataset: StoreKey): string {
  const organization = dataset.organizationId ?? dataset.orgId;
  if (!organization) throw new Error(`dataset ${dataset.id}: a store is named by its organization, which was not given`);
  return `${organization}:${contentKey(dataset)}`;
}

export function storeFor(
  env: { DATASET_STORES: DurableObjectNamespace<DatasetStore> | DurableObjectNamespace },
  dataset: StoreKey,
): DurableObjectStub<DatasetStore> {
  const namespace = env.DATASET_STORES as unknown as DurableObjectNamespace<DatasetStore>;
  return namespace.get(namespace.idFromName(storeName(dataset)));
}
