// Runs one query against a dataset version's store, through a result cache keyed by the dataset's bytes and the normal form of the query.
import type { QueryFailure, QueryOutcome, QueryParam, QuerySuccess } from "../../durable-objects/dataset-store/query.ts";
import { checkSql } from "../../durable-objects/dataset-store/sql-tokens.ts";
import type { Config } from "../../env.ts";
import { sha256Hex } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/problem.ts";
import { contentKey, type StoreKey, storeFor } from "../dataset-store/stub.ts";
import { LRUCache } from "lru-cache";

export interface QueryDataset {
  id: string;
  orgId: string;
  version: number;
  sha256: string;
  /** Its type overrides name its store (see contentKey). */
  parseOptions: StoreKey["parseOptions"];
}

export interface QueryAnswer extends Omit<QuerySuccess, "ok" | "rowsRead"> {
  sql: string;
  dataset: { id: string; version: number; sha256: string };
  cached: boolean;
}

/** How long a client should wait before asking a store that is still loading again. */
const RETRY_AFTER_SECONDS = 5;
/** A dataset version never changes, so its results never go stale; the cache may still drop them at will. */
const CACHE_SECONDS = 7 * 24 * 3600;
/** The RPC's own deadline, past the store's: a store that does not answer at all (stuck in one step) still gets a 504. */
const RPC_GRACE_MS = 2_000;

const statusOf = {
  QUERY_INVALID: 422,
  QUERY_NOT_READ_ONLY: 422,
  QUERY_TIMEOUT: 504,
  QUERY_RESULT_TOO_LARGE: 413,
  DATASET_NOT_READY: 409,
} as const;

/** The problem a store's refusal becomes. */
export function queryProblem(failure: QueryFailure): ApiError {
  const status = statusOf[failure.code];
  if (failure.code === "DATASET_NOT_READY") {
    return new ApiError(409, {
      code: failure.code,
      detail: `The dataset is not queryable yet (its store is ${failure.status ?? "not ready"}); try again shortly.`,
      headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
      extensions: { storeStatus: failure.status ?? null },
    });
  }
  const where = failure.position ? ` (at character ${failure.position})` : "";
  return new ApiError(status, {
    code: failure.code,
    detail: `${failure.message}${where}.`,
    extensions: failure.position ? { position: failure.position } : {},
  });
}

type SavedResult = Omit<QueryAnswer, "cached" | "elapsedMs" | "sql" | "dataset">;

/**
 * Results this isolate answered lately, in front of the Cache API: a dashboard's reload is answered from memory, without the cache's
 * own round trip. (Most of a cached answer's time is the request's authentication and dataset lookup, which stay: see the bench.)
 * Bounded by the JSON's length; a dataset version never changes, so entries never go stale.
 */
const recent = new LRUCache<string, string>({ maxSize: 8 * 1024 * 1024 });

const cacheUrl = async (dataset: QueryDataset, key: unknown) =>
  `https://dataset-queries.datacrafted.internal/${contentKey(dataset)}/${await sha256Hex(JSON.stringify(key))}`;

/**
 * `sql` over the dataset's store, capped by the configured rows, bytes and time. Throws ApiError for anything the caller should
 * change (or wait for); a cached answer says `cached: true` and costs no scan. `cache: false` runs it in the store whatever is cached.
 */
export async function queryDataset(
  config: Config,
  dataset: QueryDataset,
  sql: string,
  params: QueryParam[] = [],
  { cache: useCache = true, maxRows = config.QUERY_MAX_ROWS }: { cache?: boolean; maxRows?: number } = {},
): Promise<QueryAnswer> {
  const started = Date.now();
  // The first gate runs here too, so a refused statement costs the store nothing; the store checks again on its own.
  const gate = checkSql(sql);
  if (!gate.ok) throw queryProblem({ ok: false, ...gate.refusal });
  const limits = {
    maxRows: Math.min(maxRows, config.QUERY_MAX_ROWS),
    maxBytes: config.QUERY_MAX_BYTES,
    timeoutMs: config.QUERY_TIMEOUT_MS,
  };
  const about = { id: dataset.id, version: dataset.version, sha256: dataset.sha256 };
  const cache = caches.default;
  const key = new Request(
    await cacheUrl(dataset, { sql: gate.checked.normalized, params, maxRows: limits.maxRows, maxBytes: limits.maxBytes }),
  );
  const cachedAnswer = (saved: SavedResult): QueryAnswer => ({
    ...saved,
    sql,
    dataset: about,
    elapsedMs: Date.now() - started,
    cached: true,
  });
  // A rerun skips the cache both ways: it exists to execute the statement again.
  if (useCache) {
    // (Kept as text and parsed per answer, so no caller shares, or can change, another's rows.)
    const remembered = recent.get(key.url);
    if (remembered !== undefined) return cachedAnswer(JSON.parse(remembered) as SavedResult);
    const hit = await cache.match(key);
    if (hit) {
      const text = await hit.text();
      remember(key.url, text);
      return cachedAnswer(JSON.parse(text) as SavedResult);
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(queryProblem({ ok: false, code: "QUERY_TIMEOUT", message: `the query ran longer than ${limits.timeoutMs} ms` })),
      limits.timeoutMs + RPC_GRACE_MS,
    );
  });
  let outcome: QueryOutcome;
  try {
    outcome = (await Promise.race([
      storeFor(config, { id: dataset.id, organizationId: dataset.orgId, sha256: dataset.sha256, parseOptions: dataset.parseOptions }).query(
        { sql, params, ...limits },
      ),
      late,
    ])) as QueryOutcome;
  } catch (error) {
    // The object's CPU limit, the backstop for a statement no check foresaw, ends it and resets the object.
    if (error instanceof Error && /CPU|exceeded/i.test(error.message)) {
      throw queryProblem({ ok: false, code: "QUERY_TIMEOUT", message: "the query exceeded the store's CPU limit" });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
  if (!outcome.ok) throw queryProblem(outcome);
  const { ok: _ok, rowsRead: _rowsRead, ...result } = outcome;
  const saved = { columns: result.columns, rows: result.rows, rowCount: result.rowCount, truncated: result.truncated };
  if (useCache) {
    const text = JSON.stringify(saved);
    remember(key.url, text);
    await cache.put(
      key,
      new Response(text, { headers: { "Content-Type": "application/json", "Cache-Control": `max-age=${CACHE_SECONDS}` } }),
    );
  }
  return { ...result, sql, dataset: about, elapsedMs: Date.now() - started, cached: false };
}

/** Keeps a result in memory unless it alone would take over an eighth of the room (a big result stays in the Cache API only). */
function remember(url: string, text: string) {
  if (text.length <= 1024 * 1024) recent.set(url, text, { size: Math.max(1, text.length) });
}
