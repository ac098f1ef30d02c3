// The verification-link cleanup job, driven through the Worker's scheduled() handler, against the real database.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { emailVerificationTokens } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";
import { call, json, mailTo, unverifiedPerson } from "../support/harness.ts";

const db = () => createDb(env);

async function runScheduled() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/15 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("scheduled(): cleanup of verification links", () => {
  it("deletes links expired or used over a day ago and keeps the live one", async () => {
    const ada = await unverifiedPerson("cron-links");
    // Three links for one unverified account: the sign-up's and two more.
    for (let i = 0; i < 2; i++)
      await json(await call("/api/v1/auth/resend-verification", { method: "POST", body: { email: ada.email } }), 202);
    await mailTo(ada.email, 3);
    const rows = await db().select().from(emailVerificationTokens).where(eq(emailVerificationTokens.email, ada.email));
    expect(rows).toHaveLength(3);
    const [expired, used, live] = rows.map((row) => row.tokenHash);
    await db()
      .update(emailVerificationTokens)
      .set({ expiresAt: sql`now() - interval '25 hours'` })
      .where(eq(emailVerificationTokens.tokenHash, expired!));
    await db()
      .update(emailVerificationTokens)
      .set({ usedAt: sql`now() - interval '25 hours'` })
      .where(eq(emailVerificationTokens.tokenHash, used!));
    await runScheduled();
    const left = await db()
      .select({ tokenHash: emailVerificationTokens.tokenHash })
      .from(emailVerificationTokens)
      .where(eq(emailVerificationTokens.email, ada.email));
    expect(left.map((row) => row.tokenHash)).toEqual([live]);
  });
});
