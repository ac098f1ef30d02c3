// The production Postgres driver (@neondatabase/serverless) against the local Neon gateway, on every backend of the run.
import { neon, neonConfig, NeonDbError } from "@neondatabase/serverless";
import { beforeAll, beforeEach, describe, expect, inject, it } from "vitest";

const stacks = inject("stacks");

// drizzle's neon-http driver switches the isolate's date parsers to strings, so it is tested in
// test/db/client.test.ts, apart from these parser expectations.
describe.each(stacks)("Neon gateway on $postgres", ({ vars }) => {
  const table = `t_${crypto.randomUUID().replaceAll("-", "")}`;
  const sql = () => neon(vars.DATABASE_URL);

  beforeEach(() => {
    neonConfig.fetchEndpoint = vars.NEON_FETCH_ENDPOINT;
  });

  beforeAll(async () => {
    neonConfig.fetchEndpoint = vars.NEON_FETCH_ENDPOINT;
    await sql().query(`CREATE TABLE ${table} (id int PRIMARY KEY, email text UNIQUE NOT NULL, tags text[])`);
  });

  it("round-trips parameters and results of every common type", async () => {
    const bytes = new Uint8Array([0, 1, 254, 255]);
    const when = new Date("2026-03-04T05:06:07.890Z");
    const [row] = await sql()`
      SELECT ${42}::int AS int, ${"9007199254740993"}::bigint AS big, ${"12345.6789"}::numeric AS num,
             ${true}::bool AS yes, ${'héllo "quoted" ✓'}::text AS txt, ${JSON.stringify({ a: [1, { b: null }] })}::jsonb AS doc,
             ${when}::timestamptz AS at, ${"2026-02-28"}::date AS day, ${"6c8f7c43-3b1e-4e5a-9d2f-0a7e1c2b3d4e"}::uuid AS id,
             ${bytes}::bytea AS bin, ${[1, 2, 3]}::int[] AS ints, ${["a", "b,c", null]}::text[] AS texts, ${null}::text AS nothing`;
    expect(row).toEqual({
      int: 42,
      big: "9007199254740993",
      num: "12345.6789",
      yes: true,
      txt: 'héllo "quoted" ✓',
      doc: { a: [1, { b: null }] },
      at: when,
      day: new Date("2026-02-28T00:00:00.000Z"),
      id: "6c8f7c43-3b1e-4e5a-9d2f-0a7e1c2b3d4e",
      bin: expect.anything(),
      ints: [1, 2, 3],
      texts: ["a", "b,c", null],
      nothing: null,
    });
    expect([...new Uint8Array(row!.bin as ArrayLike<number>)]).toEqual([0, 1, 254, 255]);
  });

  it("returns rows as arrays and fields with type OIDs when asked", async () => {
    const result = await sql().query("SELECT 1::int AS a, 'x'::text AS b, now() AS c", [], { arrayMode: true, fullResults: true });
    expect(result.rows).toEqual([[1, "x", expect.any(Date)]]);
    expect(result.fields.map((field) => [field.name, field.dataTypeID])).toEqual([
      ["a", 23],
      ["b", 25],
      ["c", 1184],
    ]);
    expect(result.command).toBe("SELECT");
    expect(result.rowCount).toBe(1);
  });

  it("reports affected rows for writes", async () => {
    const result = await sql().query(`INSERT INTO ${table} (id, email) VALUES (100, 'a@x'), (101, 'b@x')`, [], { fullResults: true });
    expect(result.command).toBe("INSERT");
    expect(result.rowCount).toBe(2);
  });

  it("rolls a batch back whole when its last statement fails", async () => {
    const db = sql();
    await expect(
      db.transaction([
        db`INSERT INTO ${db.unsafe(table)} (id, email) VALUES (1, 'first@example.com')`,
        db`INSERT INTO ${db.unsafe(table)} (id, email) VALUES (2, 'second@example.com')`,
        db`INSERT INTO ${db.unsafe(table)} (id, email) VALUES (3, ${null})`,
      ]),
    ).rejects.toMatchObject({ code: "23502", column: "email" });
    expect(await db`SELECT count(*)::int AS n FROM ${db.unsafe(table)} WHERE id < 10`).toEqual([{ n: 0 }]);
  });

  it("commits a batch and returns one result per statement", async () => {
    const db = sql();
    const [, , rows] = await db.transaction(
      [
        db`INSERT INTO ${db.unsafe(table)} (id, email, tags) VALUES (4, 'four@example.com', ${["x", "y"]})`,
        db`UPDATE ${db.unsafe(table)} SET email = 'four@new.example.com' WHERE id = 4`,
        db`SELECT email, tags FROM ${db.unsafe(table)} WHERE id = 4`,
      ],
      { isolationLevel: "Serializable" },
    );
    expect(rows).toEqual([{ email: "four@new.example.com", tags: ["x", "y"] }]);
  });

  it("surfaces a unique violation with its Postgres code and constraint", async () => {
    const db = sql();
    await db`INSERT INTO ${db.unsafe(table)} (id, email) VALUES (5, 'dup@example.com')`;
    const error = await db`INSERT INTO ${db.unsafe(table)} (id, email) VALUES (6, 'dup@example.com')`.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({ code: "23505", constraint: `${table}_email_key`, severity: "ERROR" });
    expect((error as NeonDbError).detail).toContain("dup@example.com");
  });

  it("reports a syntax error with its position", async () => {
    const error = await sql()
      .query("SELECT * FROM WHERE")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "42601", position: expect.any(String) });
  });

  it("enforces a read-only batch", async () => {
    const db = sql();
    await expect(
      db.transaction([db`INSERT INTO ${db.unsafe(table)} (id, email) VALUES (7, 'ro@example.com')`], { readOnly: true }),
    ).rejects.toMatchObject({ code: "25006" });
  });

  it("refuses a wrong password as Neon does", async () => {
    const url = new URL(vars.DATABASE_URL);
    url.password = "wrong-password";
    await expect(neon(url.toString())`SELECT 1`).rejects.toMatchObject({ code: "28P01" });
  });

  it("refuses an unknown database", async () => {
    const url = new URL(vars.DATABASE_URL);
    url.pathname = "/not_a_database";
    await expect(neon(url.toString())`SELECT 1`).rejects.toMatchObject({ code: "3D000" });
  });
});
