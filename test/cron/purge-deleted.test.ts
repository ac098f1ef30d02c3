// The purge job through scheduled(): soft-deleted projects and datasets past RETENTION_DAYS go, files first; the rest stays.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { datasets, projects } from "../../src/db/schema.ts";
import worker from "../../src/index.ts";
import { call, json, person, type Person } from "../support/harness.ts";

const db = () => createDb(env);

async function runScheduled() {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/15 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

async function projectWithDataset(who: Person, name: string) {
  const project = await json<{ id: string }>(await call("/api/v1/projects", { method: "POST", token: who.token, body: { name } }), 201);
  // call() sends JSON: the CSV goes straight to the Worker.
  const ctxResponse = await worker.fetch(
    new Request(`https://api.test/api/v1/projects/${project.id}/datasets?name=${name}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${who.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": "10.9.9.9" },
      body: `a,b\n1,${name}\n`,
    }),
    env,
    createExecutionContext(),
  );
  const dataset = await json<{ id: string }>(ctxResponse, 201);
  const [row] = await db().select({ key: datasets.r2Key }).from(datasets).where(eq(datasets.id, dataset.id));
  return { projectId: project.id, datasetId: dataset.id, key: row!.key };
}

const ago = (days: number) => sql`now() - make_interval(days => ${days})`;

describe("scheduled(): purge of soft-deleted data", () => {
  it("removes what is past the retention window, file before row, keeps what is restorable or live, and is idempotent", async () => {
    const ada = await person("purge");
    const oldDataset = await projectWithDataset(ada, "olddata");
    const oldProject = await projectWithDataset(ada, "oldproject");
    const recent = await projectWithDataset(ada, "recent");
    const live = await projectWithDataset(ada, "live");
    await db()
      .update(datasets)
      .set({ deletedAt: ago(31) })
      .where(eq(datasets.id, oldDataset.datasetId));
    await db()
      .update(projects)
      .set({ deletedAt: ago(31) })
      .where(eq(projects.id, oldProject.projectId));
    await db()
      .update(datasets)
      .set({ deletedAt: ago(1) })
      .where(eq(datasets.id, recent.datasetId));

    await runScheduled();
    const left = await db()
      .select({ id: datasets.id })
      .from(datasets)
      .where(
        inArray(
          datasets.id,
          [oldDataset, oldProject, recent, live].map((x) => x.datasetId),
        ),
      );
    expect(left.map((row) => row.id).sort()).toEqual([recent.datasetId, live.datasetId].sort());
    expect(await env.DATASETS.head(oldDataset.key)).toBeNull();
    expect(await env.DATASETS.head(oldProject.key)).toBeNull();
    expect(await env.DATASETS.head(recent.key)).not.toBeNull();
    expect(await env.DATASETS.head(live.key)).not.toBeNull();
    expect(await db().select().from(projects).where(eq(projects.id, oldProject.projectId))).toEqual([]);
    expect(await db().select({ id: projects.id }).from(projects).where(eq(projects.id, oldDataset.projectId))).toHaveLength(1);

    await runScheduled();
    expect(
      await db()
        .select({ id: datasets.id })
        .from(datasets)
        .where(inArray(datasets.id, [recent.datasetId, live.datasetId])),
    ).toHaveLength(2);
  });
});
