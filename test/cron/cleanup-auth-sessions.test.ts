// The session cleanup job, driven through the Worker's scheduled() handler and directly, against the real database.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { cleanupAuthSessions } from "../../src/cron/cleanup-auth-sessions.ts";
import { createDb } from "../../src/db/client.ts";
import { authRefreshTokens, authSessions } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";
import { call, person, signIn } from "../support/harness.ts";

const db = () => createDb(env);
const sessionId = (token: string) =>
  (JSON.parse(atob(token.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))) as { sid: string }).sid;

async function runScheduled() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/15 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("scheduled(): cleanup of auth sessions", () => {
  it("deletes expired sessions and those revoked over a day ago, with their refresh tokens; keeps the rest; is idempotent", async () => {
    const ada = await person("cron");
    const [expired, revokedLongAgo, justSignedOut] = [
      await signIn(ada.email, ada.password),
      await signIn(ada.email, ada.password),
      await signIn(ada.email, ada.password),
    ];
    await db()
      .update(authSessions)
      .set({ expiresAt: sql`now() - interval '1 minute'` })
      .where(eq(authSessions.id, sessionId(expired.accessToken)));
    await db()
      .update(authSessions)
      .set({ revokedAt: sql`now() - interval '25 hours'` })
      .where(eq(authSessions.id, sessionId(revokedLongAgo.accessToken)));
    await call("/api/v1/auth/signout", { method: "POST", token: justSignedOut.accessToken });
    const ids = [ada.token, expired.accessToken, revokedLongAgo.accessToken, justSignedOut.accessToken].map(sessionId);
    const kept = [sessionId(ada.token), sessionId(justSignedOut.accessToken)].sort();

    await runScheduled();
    const left = await db().select({ id: authSessions.id }).from(authSessions).where(inArray(authSessions.id, ids));
    expect(left.map((row) => row.id).sort()).toEqual(kept);
    const tokens = await db()
      .select({ sessionId: authRefreshTokens.sessionId })
      .from(authRefreshTokens)
      .where(inArray(authRefreshTokens.sessionId, ids));
    expect([...new Set(tokens.map((row) => row.sessionId))].sort()).toEqual(kept);

    await runScheduled(); // a second run changes nothing
    expect(await db().select({ id: authSessions.id }).from(authSessions).where(inArray(authSessions.id, ids))).toHaveLength(2);
  });

  it("stops after its bound and finishes on the next run", async () => {
    const ada = await person("bounded");
    for (let i = 0; i < 4; i++) await signIn(ada.email, ada.password);
    await db()
      .update(authSessions)
      .set({ revokedAt: sql`now() - interval '2 days'` })
      .where(sql`user_id = (SELECT id FROM users WHERE email = ${ada.email})`);
    // Sessions revoked by other tests may be waiting too: drain until this person's are gone, two at a time.
    let runs = 0;
    let result = { deleted: 0, done: false };
    do {
      result = await cleanupAuthSessions(db(), { batchSize: 1, maxBatches: 2 });
      expect(result.deleted).toBeLessThanOrEqual(2);
      runs++;
    } while (!result.done && runs < 200);
    expect(result.done).toBe(true);
    expect(runs).toBeGreaterThanOrEqual(3);
    const left = await db().execute(
      sql`SELECT count(*)::int AS n FROM auth_sessions WHERE user_id = (SELECT id FROM users WHERE email = ${ada.email})`,
    );
    expect(left.rows).toEqual([{ n: 0 }]);
  });
});
