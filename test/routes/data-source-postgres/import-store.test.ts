// Issue 18 item 7: an import from a Postgres source goes through the upload pipeline and, like any upload, loads into the
// dataset's store, where SQL over it answers from every row.
import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { createSource, postgresBody } from "../../support/data-sources.ts";
import { newProject, settled } from "../../support/dataset-loads.ts";
import { call, json, person, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

const schema = `ds_import_${crypto.randomUUID().slice(0, 8)}`;
let owner: Person;
let base: string;

beforeAll(async () => {
  const db = createDb(env);
  await db.batch([
    db.execute(sql.raw(`CREATE SCHEMA ${schema}`)),
    db.execute(sql.raw(`CREATE TABLE ${schema}.sales (id int PRIMARY KEY, region text NOT NULL, amount float8 NOT NULL)`)),
    db.execute(sql.raw(`INSERT INTO ${schema}.sales SELECT g, 'r' || (g % 3), g * 1.5 FROM generate_series(1, 2500) g`)),
  ]);
  owner = await person("imp-owner");
  const slug = await team(owner);
  base = `/api/v1/orgs/${slug}/data-sources/${(await createSource(owner, slug, postgresBody())).id}`;
});

afterAll(async () => {
  await createDb(env).execute(sql.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
});

describe("an import", () => {
  it("loads into the dataset store like an upload, with bind parameters, and SQL over the store sees every row", async () => {
    const projectId = await newProject(owner, "Imports");
    const dataset = await json<{ id: string; rowCount: number; format: string }>(
      await call(`${base}/import`, {
        method: "POST",
        token: owner.token,
        body: {
          sql: `SELECT id, region, amount FROM ${schema}.sales WHERE id <= $1 ORDER BY id`,
          params: [2000],
          projectId,
          name: "sales",
        },
      }),
      201,
    );
    expect(dataset).toMatchObject({ rowCount: 2000, format: "ndjson" });
    const ready = await settled(owner, dataset.id);
    expect(ready.query).toMatchObject({ status: "ready", rows: 2000 });
    const answer = await json<{ rows: unknown[][] }>(
      await call(`/api/v1/datasets/${dataset.id}/query`, {
        method: "POST",
        token: owner.token,
        body: { sql: "SELECT region, count(*) AS n, sum(amount) AS total FROM dataset GROUP BY region ORDER BY region" },
      }),
      200,
    );
    // Computed here from the same rule the seed used: id g in region g % 3, amount 1.5 g.
    const expected = ["r0", "r1", "r2"].map((region, r) => {
      const ids = Array.from({ length: 2000 }, (_, i) => i + 1).filter((g) => g % 3 === r);
      return [region, ids.length, ids.reduce((sum, g) => sum + g * 1.5, 0)];
    });
    expect(answer.rows).toEqual(expected);
  });

  it("answers a project that is not the caller's with 404 and a parameter mismatch with 400", async () => {
    const stranger = await person("imp-stranger");
    const theirs = await newProject(stranger, "Theirs");
    await expectProblem(
      await call(`${base}/import`, { method: "POST", token: owner.token, body: { sql: "SELECT 1 AS a", projectId: theirs, name: "x" } }),
      404,
      "NOT_FOUND",
    );
    const mine = await newProject(owner, "Mine");
    await expectProblem(
      await call(`${base}/import`, { method: "POST", token: owner.token, body: { sql: "SELECT $1 AS a", projectId: mine, name: "x" } }),
      400,
      "VALIDATION_FAILED",
    );
  });
});
