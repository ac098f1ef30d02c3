// Parquet uploads through the Worker into real R2 and Postgres: read back by range reads, profiled, loaded into the store; a CSV's
// Parquet download uploaded again is the same dataset; truncated and mislabelled files leave nothing behind; tenancy.
import { parquetWriteBuffer } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { settled } from "../../support/dataset-loads.ts";
import { datasetsOf, query, send, sendWith, stored } from "../../support/dataset-uploads.ts";
import { expectProblem } from "../../support/problem.ts";

const PARQUET = "application/vnd.apache.parquet";

interface Column {
  name: string;
  type: string;
  count: number;
  nulls: number;
  min: unknown;
  max: unknown;
}
interface Dataset {
  id: string;
  projectId: string;
  name: string;
  format: string;
  sha256: string;
  rowCount: number;
  columnCount: number;
  profile: { rowCount: number; columns: Column[] };
  sample: Record<string, unknown>[];
}

async function project(who: Person, org?: string) {
  return (
    await json<{ id: string }>(
      await call("/api/v1/projects", { method: "POST", token: who.token, body: { name: "Parquet", ...(org ? { org } : {}) } }),
      201,
    )
  ).id;
}

/** 2,500 rows in row groups of 1,000: integers, doubles, text, booleans, timestamps, dates as UTC midnights, and nulls in each. */
const N = 2_500;
const day = (i: number) => new Date(Date.UTC(2026, 0, 1) + (i % 365) * 86_400_000);
const fixture = () =>
  new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: "id", data: Array.from({ length: N }, (_, i) => BigInt(i + 1)), type: "INT64" },
        { name: "amount", data: Array.from({ length: N }, (_, i) => (i % 10 === 0 ? null : i * 1.25)), type: "DOUBLE" },
        {
          name: "region",
          data: Array.from({ length: N }, (_, i) => (i % 7 === 0 ? null : ["North", "South", "Zürich"][i % 3]!)),
          type: "STRING",
        },
        { name: "paid", data: Array.from({ length: N }, (_, i) => (i % 11 === 0 ? null : i % 2 === 0)), type: "BOOLEAN" },
        {
          name: "at",
          data: Array.from({ length: N }, (_, i) => (i % 13 === 0 ? null : new Date(day(i).getTime() + 3_600_000 * (i % 24) + 1))),
          type: "TIMESTAMP",
        },
        { name: "day", data: Array.from({ length: N }, (_, i) => day(i)), type: "TIMESTAMP" },
      ],
      rowGroupSize: 1_000,
    }),
  );

describe("uploading Parquet", () => {
  it("profiles every column from range reads, previews rows and loads the store (the raw body, told by its media type)", async () => {
    const ada = await person("pq");
    const projectId = await project(ada);
    const file = fixture();
    const dataset = await json<Dataset>(await send(ada, projectId, file, PARQUET, "?name=orders"), 201);
    expect(dataset).toMatchObject({ format: "parquet", rowCount: N, columnCount: 6 });
    const byName = Object.fromEntries(dataset.profile.columns.map((column) => [column.name, column]));
    expect(byName.id).toMatchObject({ type: "integer", nulls: 0, min: 1, max: N });
    expect(byName.amount).toMatchObject({ type: "number", nulls: N / 10, min: 1.25, max: (N - 1) * 1.25 });
    expect(byName.region).toMatchObject({ type: "string", nulls: Math.ceil(N / 7), min: "North", max: "Zürich" });
    expect(byName.paid).toMatchObject({ type: "boolean", nulls: Math.ceil(N / 11) });
    expect(byName.at).toMatchObject({ type: "datetime", nulls: Math.ceil(N / 13) });
    expect(byName.day).toMatchObject({ type: "datetime", nulls: 0, min: "2026-01-01T00:00:00.000Z", max: "2026-12-31T00:00:00.000Z" });
    expect(dataset.sample[1]).toEqual({
      id: 2,
      amount: 1.25,
      region: "South",
      paid: false,
      at: "2026-01-02T01:00:00.001Z",
      day: "2026-01-02",
    });

    // A preview page past the first row group.
    const page = await json<{ rows: Record<string, unknown>[] }>(
      await call(`/api/v1/datasets/${dataset.id}/rows?offset=1999&limit=2`, { token: ada.token }),
      200,
    );
    expect(page.rows).toEqual([
      {
        id: 2000,
        amount: 1999 * 1.25,
        region: "South",
        paid: false,
        at: new Date(day(1999).getTime() + 3_600_000 * (1999 % 24) + 1).toISOString(),
        day: day(1999).toISOString().slice(0, 10),
      },
      {
        id: 2001,
        amount: null,
        region: "Zürich",
        paid: true,
        at: new Date(day(2000).getTime() + 3_600_000 * (2000 % 24) + 1).toISOString(),
        day: day(2000).toISOString().slice(0, 10),
      },
    ]);

    const ready = await settled(ada, dataset.id);
    expect(ready.query).toMatchObject({ status: "ready", rows: N });
    const paid = Array.from({ length: N }, (_, i) => i % 11 !== 0 && i % 2 === 0).filter(Boolean).length;
    expect(await query(ada, dataset.id, `SELECT count(*), sum(paid), count(amount), min("day") FROM dataset`)).toEqual([
      [N, paid, N - N / 10, "2026-01-01T00:00:00.000Z"],
    ]);
  });

  it("a CSV's Parquet download uploaded again has the same profile and rows", async () => {
    const ada = await person("pq-trip");
    const projectId = await project(ada);
    const csv = [
      "id,amount,region,paid,day,at,note",
      "1,10.5,North,true,2026-01-01,2026-01-01T10:30:00.000Z,",
      "2,20,South,false,2026-01-02,2026-01-02T11:00:00.000Z,hello",
      "3,,North,true,2026-01-03,,",
      '4,40.25,Zürich,,2026-01-04,2026-01-04T00:00:01.000Z,"a, b"',
      "-5,-0.5,,false,,2026-02-28T23:59:59.999Z,x",
    ].join("\n");
    const original = await json<Dataset>(await send(ada, projectId, csv, "text/csv", "?name=sales"), 201);
    const download = await call(`/api/v1/datasets/${original.id}/download?format=parquet`, { token: ada.token });
    expect(download.status).toBe(200);
    const parquet = new Uint8Array(await download.arrayBuffer());
    const again = await json<Dataset>(await send(ada, projectId, parquet, PARQUET, "?name=sales-again"), 201);
    expect(again.format).toBe("parquet");
    expect(again.profile).toEqual(original.profile);
    // The same rows, typed: the CSV's text as its profile reads it, the Parquet's values as they are.
    expect(again.sample).toEqual([
      { id: 1, amount: 10.5, region: "North", paid: true, day: "2026-01-01", at: "2026-01-01T10:30:00.000Z", note: null },
      { id: 2, amount: 20, region: "South", paid: false, day: "2026-01-02", at: "2026-01-02T11:00:00.000Z", note: "hello" },
      { id: 3, amount: null, region: "North", paid: true, day: "2026-01-03", at: null, note: null },
      { id: 4, amount: 40.25, region: "Zürich", paid: null, day: "2026-01-04", at: "2026-01-04T00:00:01.000Z", note: "a, b" },
      { id: -5, amount: -0.5, region: null, paid: false, day: null, at: "2026-02-28T23:59:59.999Z", note: "x" },
    ]);
    expect((await settled(ada, original.id)).query.status).toBe("ready");
    expect((await settled(ada, again.id)).query.status).toBe("ready");
    const all = "SELECT * FROM dataset ORDER BY rowid";
    expect(await query(ada, again.id, all)).toEqual(await query(ada, original.id, all));
  });
});

describe("bad Parquet input", () => {
  it("a truncated file is a 422 PARQUET_MALFORMED and leaves nothing in R2 or Postgres", async () => {
    const ada = await person("pq-cut");
    const projectId = await project(ada);
    const file = fixture();
    await expectProblem(await send(ada, projectId, file.subarray(0, Math.floor(file.length * 0.6)), PARQUET), 422, "PARQUET_MALFORMED");
    // The footer intact but a column chunk cut short: found when the row group is read.
    const damaged = file.slice();
    damaged.fill(0, 8, Math.floor(file.length / 2));
    await expectProblem(await send(ada, projectId, damaged, PARQUET), 422, "PARQUET_MALFORMED");
    expect(await stored(projectId)).toEqual([]);
    expect(await datasetsOf(ada, projectId)).toEqual([]);
  });

  it("bytes that are not Parquet are a 422 FORMAT_MISMATCH, whether by media type, ?format= or file name; nothing is kept", async () => {
    const ada = await person("pq-fake");
    const projectId = await project(ada);
    await expectProblem(await send(ada, projectId, "a,b\n1,2\n", PARQUET), 422, "FORMAT_MISMATCH");
    await expectProblem(await send(ada, projectId, "a,b\n1,2\n", "text/csv", "?format=parquet"), 422, "FORMAT_MISMATCH");
    const form = new FormData();
    form.append("file", new File(["PAR"], "tiny.parquet", { type: "application/octet-stream" }));
    const multipart = new Request("https://x/", { method: "POST", body: form });
    await expectProblem(
      await send(ada, projectId, await multipart.arrayBuffer(), multipart.headers.get("Content-Type")!),
      422,
      "FORMAT_MISMATCH",
    );
    expect(await stored(projectId)).toEqual([]);
    expect(await datasetsOf(ada, projectId)).toEqual([]);
  });

  it("a file past MAX_ROWS or MAX_COLUMNS is refused from its footer (422), leaving nothing", async () => {
    const ada = await person("pq-rows");
    const projectId = await project(ada);
    await expectProblem(await sendWith(ada, projectId, fixture(), PARQUET, { MAX_ROWS: "2499" }), 422, "TOO_MANY_ROWS");
    await expectProblem(await sendWith(ada, projectId, fixture(), PARQUET, { MAX_COLUMNS: "5" }), 422, "TOO_MANY_COLUMNS");
    await expectProblem(await sendWith(ada, projectId, fixture(), PARQUET, { MAX_UPLOAD_BYTES: "1000" }), 413, "UPLOAD_TOO_LARGE");
    expect(await stored(projectId)).toEqual([]);
    expect(await datasetsOf(ada, projectId)).toEqual([]);
  });
});

describe("Parquet datasets and tenancy", () => {
  it("another tenant gets 404 on a Parquet dataset's download; a viewer cannot upload (403) but can download", async () => {
    const [owner, viewer, stranger] = [await person("pq-o"), await person("pq-v"), await person("pq-s")];
    const slug = await team(owner);
    await addMember(owner, slug, viewer, "viewer");
    const projectId = await project(owner, slug);
    const dataset = await json<Dataset>(await send(owner, projectId, fixture(), PARQUET), 201);
    await expectProblem(await send(viewer, projectId, fixture(), PARQUET), 403, "FORBIDDEN");
    await expectProblem(await call(`/api/v1/datasets/${dataset.id}/download?format=xlsx`, { token: stranger.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/datasets/${dataset.id}/download`, { token: stranger.token }), 404, "NOT_FOUND");
    const original = await call(`/api/v1/datasets/${dataset.id}/download`, { token: viewer.token });
    expect(original.status).toBe(200);
    expect(original.headers.get("Content-Type")).toBe(PARQUET);
    expect(new Uint8Array(await original.arrayBuffer())).toEqual(fixture());
  });
});
