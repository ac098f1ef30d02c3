// The conditional write of a versioned row (projects, sessions): a lost race is a 412, not a silent overwrite.
import { and, eq, sql } from "drizzle-orm";
import type { AnyPgColumn, PgTable, PgUpdateSetSource } from "drizzle-orm/pg-core";
import type { Context } from "hono";
import { principalOf } from "./principal.ts";
import { ApiError } from "./problem.ts";
import type { AppEnv } from "./types.ts";

/** A table whose rows carry a version counter and who changed them last. */
type Versioned = PgTable & { id: AnyPgColumn; version: AnyPgColumn; updatedAt: AnyPgColumn; updatedBy: AnyPgColumn };

/**
 * Applies `changes` to row `id` of `table` if it is still at version `expected` (when given), bumping the version and
 * stamping who and when; `noun` names the row in the 412 ("project", "session").
 */
export async function versionedWrite<T extends Versioned>(
  c: Context<AppEnv>,
  table: T,
  { id, noun }: { id: string; noun: string },
  expected: number | undefined,
  changes: PgUpdateSetSource<T>,
): Promise<T["$inferSelect"]> {
  const stamp = { version: sql`${table.version} + 1`, updatedAt: sql`now()`, updatedBy: principalOf(c).userId } as PgUpdateSetSource<T>;
  const [updated] = (await c
    .get("services")
    .db.update(table)
    .set({ ...changes, ...stamp })
    .where(and(eq(table.id, id), expected === undefined ? undefined : eq(table.version, expected)))
    .returning()) as T["$inferSelect"][];
  if (!updated) throw new ApiError(412, { detail: `The ${noun} changed while this request was on its way; fetch it again and retry.` });
  return updated;
}
