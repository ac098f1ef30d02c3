// PATCH /datasets/{id}/schema in workerd against real R2, Postgres and the store: overridden column types reach the profile,
// the sample, the rows preview, the store's load and the CSV download; they carry over to the name's next upload; bad ones are refused.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { datasets } from "../../../src/db/schema.ts";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { newProject, settled, storeRows, upload } from "../../support/dataset-loads.ts";
import { expectProblem } from "../../support/problem.ts";

interface Column {
  name: string;
  type: string;
  nulls: number;
  min: unknown;
  max: unknown;
  override?: { type: string; format: string | null; unfit: number; examples: string[] };
}
interface Dataset {
  id: string;
  name: string;
  version: number;
  sha256: string;
  rowCount: number;
  profile: { columns: Column[] };
  sample: Record<string, unknown>[];
}

const CSV = "zip,version,amount,day\n02134,1.10,12,31/12/2024\n10001,1.2,x,01/02/2025\n00501,2.0,7,15/06/2025\n";
const OVERRIDES = [
  { column: "zip", type: "text" },
  { column: "version", type: "text" },
  { column: "amount", type: "number" },
  { column: "day", type: "date", format: "DD/MM/YYYY" },
];

const patch = (who: Person, id: string, columns: unknown, headers: Record<string, string> = {}) =>
  call(`/api/v1/datasets/${id}/schema`, { method: "PATCH", token: who.token, body: { columns }, headers });
const byName = (dataset: Dataset) => Object.fromEntries(dataset.profile.columns.map((column) => [column.name, column]));

/** The dataset row (with its org and parse options, which name its store), once its load settled. */
async function loaded(who: Person, id: string) {
  const done = await settled(who, id);
  expect(done.query.status).toBe("ready");
  const [row] = await createDb(env).select().from(datasets).where(eq(datasets.id, id));
  return row!;
}

describe("PATCH /datasets/{id}/schema", () => {
  it("rebuilds the profile, sample, preview, store and download as a new version with the chosen types", async () => {
    const ada = await person("types");
    const projectId = await newProject(ada);
    const first = (await upload(ada, projectId, CSV, { name: "sites" })) as unknown as Dataset;
    const inferred = byName(first);
    expect([inferred.zip!.type, inferred.version!.type, inferred.amount!.type, inferred.day!.type]).toEqual([
      "integer",
      "number",
      "string",
      "string",
    ]);

    const response = await patch(ada, first.id, OVERRIDES, { "If-Match": `"${first.sha256}"` });
    const second = await json<Dataset>(response, 201);
    expect(response.headers.get("Location")).toBe(`/api/v1/datasets/${second.id}`);
    expect(second.id).not.toBe(first.id);
    expect(second.version).toBe(2);
    expect(second.sha256).toBe(first.sha256);
    const columns = byName(second);
    expect([columns.zip!.type, columns.version!.type, columns.amount!.type, columns.day!.type]).toEqual([
      "string",
      "string",
      "number",
      "datetime",
    ]);
    expect(columns.zip!.min).toBe("00501");
    expect(columns.amount!.override).toEqual({ type: "number", format: null, unfit: 1, examples: ["x"] });
    expect(columns.amount!.nulls).toBe(1);
    expect(columns.day!.override).toMatchObject({ type: "date", format: "DD/MM/YYYY", unfit: 0 });
    expect(columns.day!.min).toBe("2024-12-31T00:00:00.000Z");
    expect(columns.day!.max).toBe("2025-06-15T00:00:00.000Z");
    expect(second.sample[0]).toEqual({ zip: "02134", version: "1.10", amount: 12, day: "2024-12-31" });

    const preview = await json<{ rows: Record<string, unknown>[] }>(
      await call(`/api/v1/datasets/${second.id}/rows`, { token: ada.token }),
      200,
    );
    expect(preview.rows).toEqual([
      { zip: "02134", version: "1.10", amount: 12, day: "2024-12-31" },
      { zip: "10001", version: "1.2", amount: null, day: "2025-02-01" },
      { zip: "00501", version: "2.0", amount: 7, day: "2025-06-15" },
    ]);

    const row = await loaded(ada, second.id);
    const stored = await storeRows(row, "SELECT zip, typeof(zip) AS t, version, amount, day FROM dataset ORDER BY rowid");
    expect(stored).toEqual([
      { zip: "02134", t: "text", version: "1.10", amount: 12, day: "2024-12-31T00:00:00.000Z" },
      { zip: "10001", t: "text", version: "1.2", amount: null, day: "2025-02-01T00:00:00.000Z" },
      { zip: "00501", t: "text", version: "2.0", amount: 7, day: "2025-06-15T00:00:00.000Z" },
    ]);
    // The first version keeps its own store, typed as inferred.
    const original = await loaded(ada, first.id);
    expect(await storeRows(original, "SELECT typeof(zip) AS t, zip FROM dataset ORDER BY rowid LIMIT 1")).toEqual([
      { t: "integer", zip: 2134 },
    ]);
    // The profile's override survives the load's exact statistics.
    const after = await json<Dataset>(await call(`/api/v1/datasets/${second.id}`, { token: ada.token }), 200);
    expect(byName(after).amount!.override?.unfit).toBe(1);

    const csv = await call(`/api/v1/datasets/${second.id}/download?format=csv`, { token: ada.token });
    expect(csv.status).toBe(200);
    const text = await csv.text();
    expect(text).toContain("02134");
    expect(text).toContain("2024-12-31");
    expect(text).not.toContain("31/12/2024");

    // The same types again change nothing.
    const same = await json<Dataset>(await patch(ada, second.id, [{ column: "zip", type: "text" }]), 200);
    expect(same.id).toBe(second.id);
  });

  it("carries the overrides to the name's next upload, and `auto` removes one", async () => {
    const ada = await person("types-re");
    const projectId = await newProject(ada);
    const first = (await upload(ada, projectId, CSV, { name: "sites" })) as unknown as Dataset;
    await json(await patch(ada, first.id, OVERRIDES), 201);
    const changed = `${CSV}90210,3.1,5,02/03/2026\n`;
    const third = (await upload(ada, projectId, changed, { name: "sites" })) as unknown as Dataset;
    expect(third.version).toBe(3);
    const columns = byName(third);
    expect(columns.zip!.type).toBe("string");
    expect(columns.day!.type).toBe("datetime");
    expect(columns.day!.max).toBe("2026-03-02T00:00:00.000Z");
    const row = await loaded(ada, third.id);
    expect(row.parseOptions.types).toEqual(OVERRIDES);
    expect(await storeRows(row, "SELECT zip FROM dataset ORDER BY rowid LIMIT 1")).toEqual([{ zip: "02134" }]);
    // Another name in the project is not affected.
    const other = (await upload(ada, projectId, `${changed}12345,1.0,1,01/01/2020\n`, { name: "elsewhere" })) as unknown as Dataset;
    expect(byName(other).zip!.type).toBe("integer");

    const fourth = await json<Dataset>(await patch(ada, third.id, [{ column: "zip", type: "auto" }]), 201);
    expect(byName(fourth).zip!.type).toBe("integer");
    expect(byName(fourth).zip!.override).toBeUndefined();
    expect(byName(fourth).day!.type).toBe("datetime");
  });

  it("refuses bad overrides (400, 422), a stale version or If-Match (412), a viewer (403) and another tenant (404)", async () => {
    const [owner, viewer, stranger] = [await person("types-o"), await person("types-v"), await person("types-s")];
    const slug = await team(owner);
    await addMember(owner, slug, viewer, "viewer");
    const { id: projectId } = await json<{ id: string }>(
      await call("/api/v1/projects", { method: "POST", token: owner.token, body: { org: slug, name: "Typed" } }),
      201,
    );
    const first = (await upload(owner, projectId, CSV, { name: "sites" })) as unknown as Dataset;

    await expectProblem(await patch(owner, first.id, [{ column: "zip", type: "zipcode" }]), 400, "VALIDATION_FAILED");
    await expectProblem(await patch(owner, first.id, [{ column: "zip", type: "integer", format: "DD/MM/YYYY" }]), 400, "VALIDATION_FAILED");
    await expectProblem(await patch(owner, first.id, [{ column: "day", type: "date", format: "DD/QQ/YYYY" }]), 400, "VALIDATION_FAILED");
    await expectProblem(await patch(owner, first.id, [{ column: "day", type: "date", format: "MM/YYYY" }]), 400, "VALIDATION_FAILED");
    await expectProblem(
      await patch(owner, first.id, [
        { column: "zip", type: "text" },
        { column: "zip", type: "integer" },
      ]),
      400,
      "VALIDATION_FAILED",
    );
    await expectProblem(await patch(owner, first.id, []), 400, "VALIDATION_FAILED");
    const unknown = await expectProblem(await patch(owner, first.id, [{ column: "nope", type: "text" }]), 422, "UNKNOWN_COLUMN");
    expect(unknown.errors).toEqual([{ path: "body.columns[0].column", message: "No such column" }]);
    await expectProblem(
      await patch(owner, first.id, [{ column: "zip", type: "text" }], { "If-Match": '"stale"' }),
      412,
      "PRECONDITION_FAILED",
    );

    await expectProblem(await patch(viewer, first.id, [{ column: "zip", type: "text" }]), 403, "FORBIDDEN");
    await expectProblem(await patch(stranger, first.id, [{ column: "zip", type: "text" }]), 404, "NOT_FOUND");

    await json(await patch(owner, first.id, [{ column: "zip", type: "text" }]), 201);
    // Version 1 is no longer the newest: setting types on it would fork the name.
    await expectProblem(await patch(owner, first.id, [{ column: "amount", type: "number" }]), 412, "PRECONDITION_FAILED");
    const versions = await json<{ data: unknown[] }>(await call(`/api/v1/datasets/${first.id}/versions`, { token: viewer.token }), 200);
    expect(versions.data).toHaveLength(2);
  });
});
