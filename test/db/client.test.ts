// createDb (drizzle over neon-http) against the local Neon gateway, on every backend of the run.
import { sql } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { createDb } from "../../src/db/client.ts";

describe.each(inject("stacks"))("createDb on $postgres", ({ vars }) => {
  const db = () => createDb(vars);

  it("runs a parameterized query", async () => {
    const result = await db().execute(sql`SELECT ${"drizzle"}::text AS name, ${7}::int AS n, ${true}::bool AS ok`);
    expect(result.rows).toEqual([{ name: "drizzle", n: 7, ok: true }]);
  });

  it("runs db.batch as one transaction: a failing statement undoes the others", async () => {
    const table = sql.raw(`b_${crypto.randomUUID().replaceAll("-", "")}`);
    await db().execute(sql`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    await expect(
      db().batch([db().execute(sql`INSERT INTO ${table} VALUES (1)`), db().execute(sql`INSERT INTO ${table} VALUES (1)`)]),
    ).rejects.toMatchObject({ code: "23505" });
    const [count] = await db().batch([db().execute(sql`SELECT count(*)::int AS n FROM ${table}`)]);
    expect(count.rows).toEqual([{ n: 0 }]);
  });

  it("keeps timestamps as Postgres text, for drizzle's column mapping to parse", async () => {
    const result = await db().execute(sql`SELECT ${"2026-01-02T03:04:05Z"}::timestamptz AS at`);
    expect(result.rows[0]?.at).toMatch(/^2026-01-02 03:04:05(\.0+)?\+00$/);
  });
});
