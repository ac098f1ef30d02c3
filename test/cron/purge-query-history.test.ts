// The purge of data sources' query history, driven through the Worker's scheduled() handler, against the real database.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { dataSourceQueries, dataSources, organizations } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";
import { person } from "../support/harness.ts";

const db = () => createDb(env);

describe("scheduled(): purge of data sources' query history", () => {
  it("deletes entries older than QUERY_HISTORY_DAYS and keeps newer ones", async () => {
    const owner = await person("cron-history");
    const [org] = await db().select({ id: organizations.id }).from(organizations).where(eq(organizations.slug, owner.personalOrg));
    const sourceId = crypto.randomUUID();
    // A row as the routes write it; its sealed secret is never read here.
    await db()
      .insert(dataSources)
      .values({ id: sourceId, orgId: org!.id, name: "history", kind: "postgres", display: {}, secret: "v1.x.y.z", keyId: "x" });
    const entry = (daysAgo: number) => ({
      id: crypto.randomUUID(),
      orgId: org!.id,
      sourceId,
      userId: owner.userId,
      sql: "SELECT $1",
      params: ["secret-ish"],
      status: "succeeded" as const,
      durationMs: 3,
      rowCount: 1,
      createdAt: new Date(Date.now() - daysAgo * 86_400_000),
    });
    // QUERY_HISTORY_DAYS is 30 by default.
    const rows = [entry(31), entry(45), entry(29), entry(0)];
    await db().insert(dataSourceQueries).values(rows);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/15 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const left = await db().select({ id: dataSourceQueries.id }).from(dataSourceQueries).where(eq(dataSourceQueries.sourceId, sourceId));
    expect(left.map((row) => row.id).sort()).toEqual([rows[2]!.id, rows[3]!.id].sort());
  });
});
