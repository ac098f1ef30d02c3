// One round trip for an authenticated request: the session check rides in the same batch as the route's first query.
import { and, eq, sql } from "drizzle-orm";
import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import type { Context } from "hono";
import type { Database } from "../db/client.ts";
import { authSessions, users } from "../db/schema.ts";
import { unauthorized } from "./principal.ts";
import type { AppEnv, PendingSession } from "./types.ts";

type Batch = Readonly<[BatchItem<"pg">, ...BatchItem<"pg">[]]>;

const isGuardFailure = (error: unknown) => {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: string }).code === "22012") return true;
  }
  return false;
};

/** Why a session failed its check: the slower path, taken only when it did. */
async function refusal(c: Context<AppEnv>, pending: PendingSession) {
  const [row] = await c
    .get("services")
    .unguardedDb.select({ status: users.status, deletedAt: users.deletedAt })
    .from(users)
    .innerJoin(authSessions, and(eq(authSessions.id, pending.sessionId), eq(authSessions.userId, users.id)))
    .where(eq(users.id, pending.userId));
  if (row?.deletedAt) return unauthorized("INVALID_TOKEN", "The account of this token has been deleted.");
  if (row && row.status !== "active") return unauthorized("INVALID_TOKEN", "The account of this token is suspended.");
  return unauthorized("INVALID_TOKEN", "The session of this token has ended; sign in again.");
}

/**
 * Runs the queries `build` makes as one batch (one transaction, one round trip). While the caller's
 * access token is still unchecked against its session, a guard goes first that divides by zero unless
 * the session and account are live: a revoked session fails the whole batch, so nothing is read or
 * written for it, and the request is a 401. `build` gets the client that may run before the check,
 * so only this batch can.
 */
export async function guarded<T extends Batch>(c: Context<AppEnv>, build: (db: Database) => T): Promise<BatchResponse<T>> {
  const db = c.get("services").unguardedDb;
  const queries = build(db);
  const pending = c.get("pendingSession");
  if (!pending) return db.batch(queries);
  const guard = db.execute(sql`
    SELECT 1 / (SELECT count(*)::int FROM users u JOIN auth_sessions s ON s.id = ${pending.sessionId} AND s.user_id = u.id
                WHERE u.id = ${pending.userId} AND u.deleted_at IS NULL AND u.status = 'active'
                  AND s.revoked_at IS NULL AND s.expires_at > now()) AS live`);
  try {
    const [, ...results] = await db.batch([guard, ...queries] as unknown as Batch);
    c.set("pendingSession", undefined);
    return results as unknown as BatchResponse<T>;
  } catch (error) {
    if (isGuardFailure(error)) throw await refusal(c, pending);
    throw error;
  }
}
