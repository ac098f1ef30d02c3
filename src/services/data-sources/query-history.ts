// Query history: each POST …/query is written after its answer (waitUntil), so recording it never slows the query down.
import type { Context } from "hono";
import { dataSourceQueries, type SourceQueryStatus } from "../../db/schema.ts";
import { describeError } from "../../lib/logger.ts";
import { principalOf } from "../../lib/principal.ts";
import { ApiError } from "../../lib/problem.ts";
import type { DataSource } from "../../lib/tenancy.ts";
import type { AppEnv } from "../../lib/types.ts";
import { waitUntil } from "../../lib/wait-until.ts";
import type { Param } from "./postgres.ts";

export interface QueryRun {
  sql: string;
  params: Param[];
  explain: boolean;
  durationMs: number;
  rowCount: number | null;
}

/** Records `run` of `source` by the caller; a write that fails is logged, never the caller's problem. */
export function recordQuery(c: Context<AppEnv>, source: DataSource, run: QueryRun, failure?: unknown) {
  const status: SourceQueryStatus = failure === undefined ? "succeeded" : "failed";
  const logger = c.get("logger");
  const row = {
    id: crypto.randomUUID(),
    orgId: source.orgId,
    sourceId: source.id,
    userId: principalOf(c).userId,
    ...run,
    rowCount: failure === undefined ? run.rowCount : null,
    status,
    errorCode: failure === undefined ? null : failure instanceof ApiError ? failure.code : "INTERNAL_ERROR",
  };
  waitUntil(
    c,
    c
      .get("services")
      .unguardedDb.insert(dataSourceQueries)
      .values(row)
      .execute()
      .catch((error: unknown) => logger.error("query history write failed", { sourceId: source.id, ...describeError(error) })),
  );
}
