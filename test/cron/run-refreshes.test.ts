// Scheduled refreshes through scheduled() in workerd: a saved Postgres import (a table in the test database, read through the
// Neon gateway as a data source) runs when due and not before, makes a new dataset version, re-runs a session's analysis on it
// through the analysis queue, records failures, and is claimed once by two cron runs at once; CRUD with its tenancy and roles.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { analyses, analysisSessions, dataRefreshes, datasets } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";
import { addMember, call, json, person, team, type Person } from "../support/harness.ts";
import { createSource, postgresBody } from "../support/data-sources.ts";
import { eventually } from "../support/eventually.ts";
import { expectProblem } from "../support/problem.ts";

interface Refresh {
  id: string;
  nextRunAt: string;
  running: boolean;
  lastRunAt: string | null;
  lastStatus: string | null;
  lastError: string | null;
  lastDatasetId: string | null;
  lastAnalysisId: string | null;
  runs: number;
}

const db = () => createDb(env);

async function runScheduled() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/15 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** A table in the test database for the source to read, with `n` rows whose values are known here. */
async function sourceTable(n: number) {
  const table = `refresh_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  await db().execute(sql.raw(`CREATE TABLE ${table} (id integer, amount integer)`));
  await fill(table, n);
  return table;
}
async function fill(table: string, n: number) {
  await db().execute(sql.raw(`DELETE FROM ${table}`));
  await db().execute(sql.raw(`INSERT INTO ${table} SELECT g, g * 10 FROM generate_series(1, ${n}) g`));
}

/** Makes the refresh due now, as the clock passing its next run would. */
const makeDue = (id: string) =>
  db().update(dataRefreshes).set({ nextRunAt: sql`now() - interval '1 second'` }).where(eq(dataRefreshes.id, id));

async function setup(label: string) {
  const owner = await person(label);
  const slug = await team(owner);
  const source = await createSource(owner, slug, postgresBody());
  const { id: projectId } = await json<{ id: string }>(
    await call("/api/v1/projects", { method: "POST", token: owner.token, body: { org: slug, name: "Refreshed" } }),
    201,
  );
  return { owner, slug, source, projectId, base: `/api/v1/orgs/${slug}/data-sources/${source.id}/refreshes` };
}

const getRefresh = async (who: Person, base: string, id: string) => json<Refresh>(await call(`${base}/${id}`, { token: who.token }), 200);

describe("scheduled refresh", () => {
  it("runs when due and not before, makes a new version each time the rows change, and re-runs the session's analysis", async () => {
    const { owner, projectId, base } = await setup("refresh");
    const table = await sourceTable(3);
    // A first version made by hand, and a session on it with an analysis.
    const first = await json<{ id: string; version: number }>(
      await call(`${base.replace(/\/refreshes$/, "")}/import`, {
        method: "POST",
        token: owner.token,
        body: { sql: `SELECT * FROM ${table}`, projectId, name: "orders" },
      }),
      201,
    );
    const session = await json<{ id: string }>(
      await call("/api/v1/sessions", { method: "POST", token: owner.token, body: { datasetId: first.id } }),
      201,
    );
    const created = await call(base, {
      method: "POST",
      token: owner.token,
      body: {
        projectId,
        name: "orders",
        schedule: "hourly",
        import: { kind: "postgres", sql: `SELECT * FROM ${table}` },
        rerunAnalysisOf: session.id,
      },
    });
    const refresh = await json<Refresh & { nextRunAt: string }>(created, 201);
    expect(created.headers.get("Location")).toBe(`${base}/${refresh.id}`);
    // Due in an hour: a cron run now leaves it alone.
    expect(Date.parse(refresh.nextRunAt) - Date.now()).toBeGreaterThan(3_500_000);
    await runScheduled();
    expect((await getRefresh(owner, base, refresh.id)).runs).toBe(0);

    // Due: the rows changed, so a new version, and the session follows it with a fresh analysis.
    await fill(table, 5);
    await makeDue(refresh.id);
    await runScheduled();
    const ran = await getRefresh(owner, base, refresh.id);
    expect(ran).toMatchObject({ runs: 1, lastStatus: "succeeded", lastError: null, running: false });
    expect(Date.parse(ran.nextRunAt)).toBeGreaterThan(Date.now());
    const version = await json<{ id: string; version: number; rowCount: number; name: string }>(
      await call(`/api/v1/datasets/${ran.lastDatasetId}`, { token: owner.token }),
      200,
    );
    expect(version).toMatchObject({ version: 2, rowCount: 5, name: "orders" });
    const [moved] = await db()
      .select({ datasetId: analysisSessions.datasetId })
      .from(analysisSessions)
      .where(eq(analysisSessions.id, session.id));
    expect(moved!.datasetId).toBe(version.id);
    expect(ran.lastAnalysisId).not.toBeNull();
    const analysis = await eventually(
      async () => (await db().select().from(analyses).where(eq(analyses.id, ran.lastAnalysisId!)))[0]!,
      (row) => row.status === "succeeded" || row.status === "failed",
    );
    expect(analysis.status).toBe("succeeded");
    expect(analysis.engine).toBe("statistical");
    expect(analysis.sessionId).toBe(session.id);

    // Due again with the same rows: succeeded, but no new version and no new analysis.
    await makeDue(refresh.id);
    await runScheduled();
    const again = await getRefresh(owner, base, refresh.id);
    expect(again).toMatchObject({ runs: 2, lastStatus: "succeeded", lastDatasetId: version.id, lastAnalysisId: ran.lastAnalysisId });
    const versions = await db().select({ id: datasets.id }).from(datasets).where(eq(datasets.projectId, projectId));
    expect(versions).toHaveLength(2);
  });

  it("records a failed run and moves on to the next slot; two cron runs at once run a due refresh once", async () => {
    const { owner, projectId, base } = await setup("refresh-fail");
    const broken = await json<Refresh>(
      await call(base, {
        method: "POST",
        token: owner.token,
        body: { projectId, name: "broken", schedule: "daily", import: { kind: "postgres", sql: "SELECT * FROM no_such_table_here" } },
      }),
      201,
    );
    await makeDue(broken.id);
    await runScheduled();
    const failed = await getRefresh(owner, base, broken.id);
    expect(failed).toMatchObject({ runs: 1, lastStatus: "failed", lastDatasetId: null, running: false });
    expect(failed.lastError).toMatch(/no_such_table_here/);
    expect(Date.parse(failed.nextRunAt) - Date.now()).toBeGreaterThan(86_000_000);

    const table = await sourceTable(2);
    const once = await json<Refresh>(
      await call(base, {
        method: "POST",
        token: owner.token,
        body: { projectId, name: "once", schedule: "weekly", import: { kind: "postgres", sql: `SELECT * FROM ${table}` } },
      }),
      201,
    );
    await makeDue(once.id);
    await Promise.all([runScheduled(), runScheduled()]);
    const ran = await getRefresh(owner, base, once.id);
    expect(ran).toMatchObject({ runs: 1, lastStatus: "succeeded" });
    const made = await db().select({ id: datasets.id }).from(datasets).where(eq(datasets.name, "once"));
    expect(made.filter((row) => row.id === ran.lastDatasetId)).toHaveLength(1);
  });

  it("is listed and read by a viewer, created and deleted by members only, a 404 to another tenant, refused when it does not fit", async () => {
    const { owner, slug, source, projectId, base } = await setup("refresh-crud");
    const [viewer, stranger] = [await person("refresh-v"), await person("refresh-s")];
    await addMember(owner, slug, viewer, "viewer");
    const body = { projectId, name: "x", schedule: "daily", import: { kind: "postgres", sql: "SELECT 1 AS a" } };
    const refresh = await json<Refresh>(await call(base, { method: "POST", token: owner.token, body }), 201);

    const page = await json<{ data: Refresh[] }>(await call(base, { token: viewer.token }), 200);
    expect(page.data.map((r) => r.id)).toEqual([refresh.id]);
    expect((await getRefresh(viewer, base, refresh.id)).id).toBe(refresh.id);
    await expectProblem(await call(base, { method: "POST", token: viewer.token, body }), 403, "FORBIDDEN");
    await expectProblem(await call(`${base}/${refresh.id}`, { method: "DELETE", token: viewer.token }), 403, "FORBIDDEN");

    await expectProblem(await call(`${base}/${refresh.id}`, { token: stranger.token }), 404, "NOT_FOUND");
    await expectProblem(await call(base, { token: stranger.token }), 404, "NOT_FOUND");
    // A stranger's own project is not this organization's.
    const theirs = await json<{ id: string }>(
      await call("/api/v1/projects", { method: "POST", token: stranger.token, body: { name: "Theirs" } }),
      201,
    );
    await expectProblem(
      await call(base, { method: "POST", token: owner.token, body: { ...body, projectId: theirs.id } }),
      404,
      "NOT_FOUND",
    );

    await expectProblem(
      await call(base, { method: "POST", token: owner.token, body: { ...body, import: { kind: "redis", match: "*" } } }),
      422,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await call(base, { method: "POST", token: owner.token, body: { ...body, schedule: "monthly" } }),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(
      await call(base, { method: "POST", token: owner.token, body: { ...body, rerunAnalysisOf: crypto.randomUUID() } }),
      404,
      "NOT_FOUND",
    );
    expect(source.kind).toBe("postgres");

    const removed = await call(`${base}/${refresh.id}`, { method: "DELETE", token: owner.token });
    expect(removed.status).toBe(204);
    await expectProblem(await call(`${base}/${refresh.id}`, { token: owner.token }), 404, "NOT_FOUND");
  });
});
