// The catalog routes and types/typescript through the Worker (the test stack's Neon gateway), over a schema seeded with
// every object kind: tables with primary and foreign keys, an index, RLS and a policy, a trigger, a view, a materialized view,
// an enum, a composite type, a function, a foreign table and a publication.
import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { createSource, postgresBody, redisBody, type Source } from "../../support/data-sources.ts";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

const tag = crypto.randomUUID().slice(0, 8);
const schema = `ds_cat_${tag}`;
const publication = `ds_cat_pub_${tag}`;
const wrapper = `ds_cat_fdw_${tag}`;
const server = `ds_cat_srv_${tag}`;
let owner: Person;
let slug: string;
let source: Source;
let base: string;

const seed = [
  `CREATE SCHEMA ${schema}`,
  `CREATE TYPE ${schema}.status AS ENUM ('new', 'paid', 'shipped')`,
  `CREATE TYPE ${schema}.address AS (street text, zip integer)`,
  `CREATE TABLE ${schema}.customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, home ${schema}.address)`,
  `CREATE TABLE ${schema}.orders (id serial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES ${schema}.customers (id) ON DELETE CASCADE,
     status ${schema}.status NOT NULL DEFAULT 'new', total numeric(10, 2), placed_at timestamptz DEFAULT now())`,
  `COMMENT ON TABLE ${schema}.orders IS 'Every order'`,
  `CREATE INDEX orders_status_idx ON ${schema}.orders (status)`,
  `ALTER TABLE ${schema}.orders ENABLE ROW LEVEL SECURITY`,
  `CREATE POLICY paid_only ON ${schema}.orders FOR SELECT USING (status <> 'new')`,
  `CREATE FUNCTION ${schema}.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.placed_at := now(); RETURN NEW; END $$`,
  `CREATE FUNCTION ${schema}.order_total(order_id integer) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT total FROM ${schema}.orders WHERE id = order_id $$`,
  `CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON ${schema}.orders FOR EACH ROW EXECUTE FUNCTION ${schema}.touch()`,
  `CREATE VIEW ${schema}.big_orders AS SELECT id, total FROM ${schema}.orders WHERE total > 100`,
  `CREATE MATERIALIZED VIEW ${schema}.order_totals AS SELECT status, sum(total) AS total FROM ${schema}.orders GROUP BY status`,
  `CREATE FOREIGN DATA WRAPPER ${wrapper}`,
  `CREATE SERVER ${server} FOREIGN DATA WRAPPER ${wrapper}`,
  `CREATE FOREIGN TABLE ${schema}.remote_orders (id integer, note text) SERVER ${server} OPTIONS (table_name 'orders')`,
  `CREATE PUBLICATION ${publication} FOR TABLE ${schema}.orders`,
  `INSERT INTO ${schema}.customers (name) SELECT 'c' || g FROM generate_series(1, 5) g`,
  `INSERT INTO ${schema}.orders (customer_id, status, total) SELECT 1 + g % 5, (ARRAY['new', 'paid', 'shipped'])[1 + g % 3]::${schema}.status, g * 7.5 FROM generate_series(1, 60) g`,
  `ANALYZE ${schema}.orders`,
];

beforeAll(async () => {
  const db = createDb(env);
  const [first, ...rest] = seed.map((statement) => db.execute(sql.raw(statement)));
  await db.batch([first!, ...rest]);
  owner = await person("cat-owner");
  slug = await team(owner);
  source = await createSource(owner, slug, postgresBody());
  base = `/api/v1/orgs/${slug}/data-sources/${source.id}`;
});

afterAll(async () => {
  const db = createDb(env);
  await db.batch([
    db.execute(sql.raw(`DROP PUBLICATION IF EXISTS ${publication}`)),
    db.execute(sql.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)),
    db.execute(sql.raw(`DROP SERVER IF EXISTS ${server} CASCADE`)),
    db.execute(sql.raw(`DROP FOREIGN DATA WRAPPER IF EXISTS ${wrapper} CASCADE`)),
  ]);
});

type Page<T = Record<string, unknown>> = { data: T[]; nextCursor: string | null };
const list = async <T = Record<string, unknown>>(path: string, who: Person = owner) =>
  json<Page<T>>(await call(`${base}${path}`, { token: who.token }), 200);
const named = <T extends { name?: unknown }>(page: Page<T>, name: string) => page.data.find((item) => item.name === name);

describe("the catalog of a schema", () => {
  it("lists tables with columns, primary and foreign keys, indexes, row estimates and RLS", async () => {
    const page = await list(`/schemas/${schema}/tables?limit=100`);
    expect(page.data.map((t) => [t.name, t.kind])).toEqual([
      ["big_orders", "view"],
      ["customers", "table"],
      ["order_totals", "materialized_view"],
      ["orders", "table"],
      ["remote_orders", "foreign_table"],
    ]);
    const orders = named(page, "orders")!;
    expect(orders).toMatchObject({
      comment: "Every order",
      estimatedRows: 60,
      rlsEnabled: true,
      rlsForced: false,
      primaryKey: { name: "orders_pkey", columns: ["id"] },
      foreignKeys: [
        {
          name: "orders_customer_id_fkey",
          columns: ["customer_id"],
          referencedSchema: schema,
          referencedTable: "customers",
          referencedColumns: ["id"],
          onUpdate: "NO ACTION",
          onDelete: "CASCADE",
        },
      ],
    });
    expect((orders.columns as { name: string; type: string; nullable: boolean }[]).map((c) => [c.name, c.type, c.nullable])).toEqual([
      ["id", "integer", false],
      ["customer_id", "bigint", false],
      ["status", `${schema}.status`, false],
      ["total", "numeric(10,2)", true],
      ["placed_at", "timestamp with time zone", true],
    ]);
    expect((orders.indexes as { name: string }[]).map((i) => i.name)).toEqual(["orders_pkey", "orders_status_idx"]);
    expect(named(page, "customers")).toMatchObject({ rlsEnabled: false, foreignKeys: [], primaryKey: { columns: ["id"] } });
  });

  it("pages by name: limit, nextCursor and Link, no item twice, and a foreign cursor is a 400", async () => {
    const seen: string[] = [];
    let path = `/schemas/${schema}/tables?limit=2`;
    for (let i = 0; i < 5; i++) {
      const response = await call(`${base}${path}`, { token: owner.token });
      const link = response.headers.get("Link");
      const page = await json<Page<{ name: string }>>(response, 200);
      seen.push(...page.data.map((t) => t.name));
      if (!page.nextCursor) {
        expect(link).toBeNull();
        break;
      }
      expect(link).toContain(`cursor=${encodeURIComponent(page.nextCursor)}`);
      path = `/schemas/${schema}/tables?limit=2&cursor=${encodeURIComponent(page.nextCursor)}`;
    }
    expect(seen).toEqual(["big_orders", "customers", "order_totals", "orders", "remote_orders"]);
    await expectProblem(await call(`${base}/schemas/${schema}/tables?cursor=nonsense`, { token: owner.token }), 400, "VALIDATION_FAILED");
  });

  it("lists views and materialized views with their definitions", async () => {
    const page = await list(`/schemas/${schema}/views`);
    expect(page.data.map((v) => [v.name, v.kind, v.populated])).toEqual([
      ["big_orders", "view", null],
      ["order_totals", "materialized_view", true],
    ]);
    expect(String(named(page, "big_orders")!.definition)).toContain("total > 100");
  });

  it("lists functions with arguments, result, language and volatility", async () => {
    const page = await list(`/schemas/${schema}/functions`);
    expect(page.data.map((f) => f.name)).toEqual(["order_total", "touch"]);
    expect(named(page, "order_total")).toMatchObject({
      kind: "function",
      arguments: "order_id integer",
      returns: "numeric",
      language: "sql",
      volatility: "stable",
      securityDefiner: false,
      extension: null,
    });
    expect(String(named(page, "touch")!.definition)).toContain("NEW.placed_at := now()");
  });

  it("lists enum and composite types", async () => {
    const page = await list(`/schemas/${schema}/types`);
    expect(page.data).toEqual([
      {
        name: "address",
        kind: "composite",
        values: null,
        attributes: [
          { name: "street", type: "text" },
          { name: "zip", type: "integer" },
        ],
        baseType: null,
        comment: null,
      },
      { name: "status", kind: "enum", values: ["new", "paid", "shipped"], attributes: null, baseType: null, comment: null },
    ]);
  });

  it("lists RLS policies and triggers", async () => {
    const policies = await list(`/schemas/${schema}/policies`);
    expect(policies.data).toEqual([
      {
        name: "paid_only",
        table: "orders",
        command: "SELECT",
        permissive: true,
        roles: ["public"],
        using: `(status <> 'new'::${schema}.status)`,
        withCheck: null,
      },
    ]);
    const triggers = await list(`/schemas/${schema}/triggers`);
    expect(triggers.data).toMatchObject([
      {
        name: "orders_touch",
        table: "orders",
        timing: "BEFORE",
        events: ["INSERT", "UPDATE"],
        level: "ROW",
        function: `${schema}.touch`,
        enabled: true,
      },
    ]);
  });

  it("lists foreign tables with their server and options", async () => {
    const page = await list(`/schemas/${schema}/foreign-tables`);
    expect(page.data).toMatchObject([{ name: "remote_orders", server, wrapper, options: ["table_name=orders"] }]);
  });

  it("lists the database's extensions and publications", async () => {
    const extensions = await list(`/extensions?limit=100`);
    expect(named(extensions, "plpgsql")).toMatchObject({ schema: "pg_catalog", version: expect.any(String) });
    let cursor: string | null = null;
    let found: Record<string, unknown> | undefined;
    do {
      const page: Page = await list(`/publications?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      found ??= named(page, publication);
      cursor = page.nextCursor;
    } while (cursor && !found);
    expect(found).toEqual({
      name: publication,
      allTables: false,
      operations: { insert: true, update: true, delete: true, truncate: true },
      tables: [{ schema, table: "orders" }],
    });
  });

  it("answers an empty page for a schema that does not exist, and 400 for a name Postgres could not have", async () => {
    expect((await list("/schemas/no_such_schema_here/tables")).data).toEqual([]);
    await expectProblem(await call(`${base}/schemas/${"x".repeat(64)}/tables`, { token: owner.token }), 400, "VALIDATION_FAILED");
    await expectProblem(await call(`${base}/schemas/${schema}/views?limit=0`, { token: owner.token }), 400, "VALIDATION_FAILED");
  });
});

describe("TypeScript types of a schema", () => {
  it("answers a module with tables, views, enums and composite types, nullable columns as | null", async () => {
    const response = await call(`${base}/types/typescript?schema=${schema}`, { token: owner.token });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    const text = await response.text();
    expect(text).toContain("export interface Database {");
    expect(text).toContain(`"${schema}": {`);
    expect(text).toContain('"customer_id": number;');
    expect(text).toContain('"total": number | null;');
    expect(text).toContain(`"status": Database["${schema}"]["Enums"]["status"];`);
    expect(text).toContain('"status": "new" | "paid" | "shipped";');
    expect(text).toContain(`"home": Database["${schema}"]["CompositeTypes"]["address"] | null;`);
    expect(text).toMatch(/"big_orders": \{\s+Row: \{/);
    // Identity ALWAYS cannot be inserted; a column with a default may be left out.
    expect(text).toContain('"id"?: never;');
    expect(text).toContain(`"status"?: Database["${schema}"]["Enums"]["status"];`);
  });

  it("defaults to public, and answers 404 for a schema that does not exist", async () => {
    const response = await call(`${base}/types/typescript`, { token: owner.token });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('"public": {');
    await expectProblem(await call(`${base}/types/typescript?schema=no_such_schema_here`, { token: owner.token }), 404, "NOT_FOUND");
  });
});

describe("who may browse", () => {
  const paths = () => [
    `/schemas/${schema}/tables`,
    `/schemas/${schema}/views`,
    `/schemas/${schema}/functions`,
    `/schemas/${schema}/types`,
    `/schemas/${schema}/policies`,
    `/schemas/${schema}/triggers`,
    `/schemas/${schema}/foreign-tables`,
    "/extensions",
    "/publications",
    `/types/typescript?schema=${schema}`,
  ];

  it("lets a viewer browse every kind, and answers another tenant 404 on each", async () => {
    const viewer = await person("cat-viewer");
    await addMember(owner, slug, viewer, "viewer");
    const stranger = await person("cat-stranger");
    for (const path of paths()) {
      expect((await call(`${base}${path}`, { token: viewer.token })).status, path).toBe(200);
      await expectProblem(await call(`${base}${path}`, { token: stranger.token }), 404, "NOT_FOUND");
    }
  });

  it("answers a Redis source with 422 DATA_SOURCE_WRONG_KIND", async () => {
    const redis = await createSource(owner, slug, redisBody());
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/data-sources/${redis.id}/schemas/public/functions`, { token: owner.token }),
      422,
      "DATA_SOURCE_WRONG_KIND",
    );
  });
});
