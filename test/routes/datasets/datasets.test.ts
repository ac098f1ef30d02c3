// Dataset uploads through the Worker into real R2 (local) and Postgres: formats, profiles, versions, previews, bad input, limits, tenancy.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../src/index.ts";
import { call, json, person, randomIp, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface Column {
  name: string;
  type: string;
  count: number;
  nulls: number;
  distinct: number;
  min: unknown;
  max: unknown;
  mean: number | null;
  stddev: number | null;
  quantiles: Record<string, number> | null;
  topValues: { value: string; count: number }[];
}
interface Dataset {
  id: string;
  name: string;
  version: number;
  format: string;
  sizeBytes: number;
  sha256: string;
  rowCount: number;
  columnCount: number;
  profile: { rowCount: number; columns: Column[] };
  sample: Record<string, unknown>[];
}

async function project(who: Person) {
  return (await json<{ id: string }>(await call("/api/v1/projects", { method: "POST", token: who.token, body: { name: "Data" } }), 201)).id;
}

async function sendRaw(
  who: Person,
  projectId: string,
  body: BodyInit,
  contentType: string | null,
  query = "",
  overrides: Partial<Cloudflare.Env> = {},
) {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = { Authorization: `Bearer ${who.token}`, "CF-Connecting-IP": randomIp() };
  if (contentType) headers["Content-Type"] = contentType;
  const response = await worker.fetch(
    new Request(`https://api.test/api/v1/projects/${projectId}/datasets${query}`, { method: "POST", headers, body }),
    { ...env, ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

const column = (dataset: Dataset, name: string) => dataset.profile.columns.find((c) => c.name === name)!;
const stored = async (projectId: string) =>
  (await env.DATASETS.list({ prefix: "datasets/" })).objects.filter((o) => o.key.includes(projectId));

const sales = [
  "id,region,amount,paid,day",
  "1,North,10.5,true,2026-01-01",
  "2,South,20,false,2026-01-02",
  "3,North,,true,2026-01-03",
  "4,East,40.25,true,2026-01-04",
  "5,North,29.25,false,2026-01-05",
].join("\n");

describe("uploading CSV", () => {
  it("streams a raw CSV in, profiles every column, and keeps a sample", async () => {
    const ada = await person("ds");
    const projectId = await project(ada);
    const response = await sendRaw(ada, projectId, sales, "text/csv", "?name=sales");
    const dataset = await json<Dataset>(response, 201);
    expect(response.headers.get("Location")).toBe(`/api/v1/datasets/${dataset.id}`);
    expect(dataset).toMatchObject({
      name: "sales",
      version: 1,
      format: "csv",
      rowCount: 5,
      columnCount: 5,
      sizeBytes: new TextEncoder().encode(sales).length,
    });
    expect(dataset.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(column(dataset, "id")).toMatchObject({ type: "integer", count: 5, nulls: 0, distinct: 5, min: 1, max: 5, mean: 3 });
    expect(column(dataset, "amount")).toMatchObject({ type: "number", nulls: 1, min: 10.5, max: 40.25, mean: 25 });
    expect(column(dataset, "amount").stddev).toBeCloseTo(12.7263, 3);
    expect(column(dataset, "amount").quantiles).toMatchObject({ p50: expect.any(Number) });
    expect(column(dataset, "region")).toMatchObject({
      type: "string",
      distinct: 3,
      topValues: [{ value: "North", count: 3 }, expect.anything(), expect.anything()],
    });
    expect(column(dataset, "paid")).toMatchObject({ type: "boolean", nulls: 0 });
    expect(column(dataset, "day")).toMatchObject({ type: "datetime", min: "2026-01-01T00:00:00.000Z", max: "2026-01-05T00:00:00.000Z" });
    expect(dataset.sample[0]).toEqual({ id: "1", region: "North", amount: "10.5", paid: "true", day: "2026-01-01" });
    expect(await stored(projectId)).toHaveLength(1);
  });

  it("detects a semicolon delimiter, strips a BOM, and keeps quoted delimiters, quotes and newlines", async () => {
    const ada = await person("ds-semi");
    const projectId = await project(ada);
    const csv = '\uFEFFname;note\n"Smith; John";"said ""hi""\nthen left"\nDoe;plain\n';
    const dataset = await json<Dataset>(await sendRaw(ada, projectId, csv, "text/csv; charset=utf-8"), 201);
    expect(dataset.profile.columns.map((c) => c.name)).toEqual(["name", "note"]);
    expect(dataset.sample).toEqual([
      { name: "Smith; John", note: 'said "hi"\nthen left' },
      { name: "Doe", note: "plain" },
    ]);
  });

  it("reads tab-separated values and a file without a header", async () => {
    const ada = await person("ds-tsv");
    const projectId = await project(ada);
    const dataset = await json<Dataset>(await sendRaw(ada, projectId, "1\t2.5\n3\t4.5\n", "text/tab-separated-values"), 201);
    expect(dataset.profile.columns.map((c) => [c.name, c.type])).toEqual([
      ["column_1", "integer"],
      ["column_2", "number"],
    ]);
    expect(dataset.rowCount).toBe(2);
  });
});

describe("uploading JSON", () => {
  it("takes an array of objects", async () => {
    const ada = await person("ds-json");
    const projectId = await project(ada);
    const body = JSON.stringify([
      { city: "Oslo", temp: -3.5 },
      { city: "Rome", temp: 14, extra: true },
    ]);
    const dataset = await json<Dataset>(await sendRaw(ada, projectId, body, "application/json", "?name=weather"), 201);
    expect(dataset).toMatchObject({ format: "json", rowCount: 2, columnCount: 3 });
    expect(column(dataset, "temp")).toMatchObject({ type: "number", min: -3.5, max: 14 });
    // A key first seen in row 2 is null in row 1.
    expect(column(dataset, "extra")).toMatchObject({ type: "boolean", count: 2, nulls: 1 });
  });

  it("takes NDJSON", async () => {
    const ada = await person("ds-ndjson");
    const projectId = await project(ada);
    const dataset = await json<Dataset>(await sendRaw(ada, projectId, '{"a":1}\n{"a":2}\n\n{"a":3}\n', "application/x-ndjson"), 201);
    expect(dataset).toMatchObject({ format: "ndjson", rowCount: 3 });
    expect(column(dataset, "a")).toMatchObject({ type: "integer", mean: 2 });
  });
});

describe("uploading multipart/form-data", () => {
  it("streams the file part, taking the name from a field or the file name", async () => {
    const ada = await person("ds-multi");
    const projectId = await project(ada);
    const form = new FormData();
    form.append("file", new File([sales], "q1-sales.csv", { type: "text/csv" }));
    const request = new Request("https://x", { method: "POST", body: form });
    const dataset = await json<Dataset>(
      await sendRaw(ada, projectId, await request.arrayBuffer(), request.headers.get("Content-Type")),
      201,
    );
    expect(dataset).toMatchObject({ name: "q1-sales", rowCount: 5, format: "csv" });

    const named = new FormData();
    named.append("name", "renamed");
    named.append("file", new File(['[{"x":1}]'], "data.json", { type: "application/json" }));
    const second = new Request("https://x", { method: "POST", body: named });
    expect(
      await json<Dataset>(await sendRaw(ada, projectId, await second.arrayBuffer(), second.headers.get("Content-Type")), 201),
    ).toMatchObject({ name: "renamed", format: "json" });
  });
});

describe("versions", () => {
  it("returns the existing dataset for the same bytes, and makes a changed file the next version", async () => {
    const ada = await person("ds-ver");
    const projectId = await project(ada);
    const first = await json<Dataset>(await sendRaw(ada, projectId, sales, "text/csv", "?name=sales"), 201);
    const again = await sendRaw(ada, projectId, sales, "text/csv", "?name=sales");
    expect((await json<Dataset>(again, 200)).id).toBe(first.id);
    expect(await stored(projectId)).toHaveLength(1);
    const changed = await json<Dataset>(
      await sendRaw(ada, projectId, `${sales}\n6,West,1,true,2026-01-06`, "text/csv", "?name=sales"),
      201,
    );
    expect(changed.version).toBe(2);
    const versions = await json<{ data: { version: number }[] }>(
      await call(`/api/v1/datasets/${first.id}/versions`, { token: ada.token }),
      200,
    );
    expect(versions.data.map((v) => v.version)).toEqual([2, 1]);
    const list = await json<{ data: { id: string }[] }>(await call(`/api/v1/projects/${projectId}/datasets`, { token: ada.token }), 200);
    expect(list.data.map((d) => d.id)).toEqual([changed.id, first.id]);
  });
});

describe("reading", () => {
  it("serves the dataset with its profile, and pages of rows read back from storage", async () => {
    const ada = await person("ds-rows");
    const projectId = await project(ada);
    const { id } = await json<Dataset>(await sendRaw(ada, projectId, sales, "text/csv"), 201);
    const read = await call(`/api/v1/datasets/${id}`, { token: ada.token });
    const etag = read.headers.get("ETag")!;
    expect((await json<Dataset>(read, 200)).profile.rowCount).toBe(5);
    const cached = await call(`/api/v1/datasets/${id}`, { token: ada.token, headers: { "If-None-Match": etag } });
    expect(cached.status).toBe(304);
    const page = await json<{ rows: { id: string }[]; columns: string[]; total: number }>(
      await call(`/api/v1/datasets/${id}/rows?offset=3&limit=10`, { token: ada.token }),
      200,
    );
    expect(page).toMatchObject({ columns: ["id", "region", "amount", "paid", "day"], total: 5 });
    expect(page.rows.map((row) => row.id)).toEqual(["4", "5"]);
    const past = await json<{ rows: unknown[] }>(await call(`/api/v1/datasets/${id}/rows?offset=99`, { token: ada.token }), 200);
    expect(past.rows).toEqual([]);
    await expectProblem(await call(`/api/v1/datasets/${id}/rows?limit=5000`, { token: ada.token }), 400, "VALIDATION_FAILED");
  });

  it("soft-deletes: 404 afterwards, gone from the list", async () => {
    const ada = await person("ds-del");
    const projectId = await project(ada);
    const { id } = await json<Dataset>(await sendRaw(ada, projectId, sales, "text/csv"), 201);
    expect((await call(`/api/v1/datasets/${id}`, { method: "DELETE", token: ada.token })).status).toBe(204);
    await expectProblem(await call(`/api/v1/datasets/${id}`, { token: ada.token }), 404, "NOT_FOUND");
    expect((await json<{ data: unknown[] }>(await call(`/api/v1/projects/${projectId}/datasets`, { token: ada.token }), 200)).data).toEqual(
      [],
    );
  });
});

describe("bad input leaves nothing behind", () => {
  const cases: [string, BodyInit, string | null, number, string, RegExp?][] = [
    ["ragged rows", "a,b\n1,2\n3,4,5\n", "text/csv", 422, "CSV_MALFORMED", /row 3/],
    ["an unclosed quote", 'a,b\n1,"never closed\n', "text/csv", 422, "CSV_MALFORMED", /quote/],
    ["text after a closing quote", 'a,b\n1,"x"y\n', "text/csv", 422, "CSV_MALFORMED", /row 2, column 2/],
    // Past the first 64 KB, which decide the delimiter: the scanner itself must notice.
    [
      "bytes that are not UTF-8, far into the file",
      new Uint8Array([...new TextEncoder().encode(`a,b\n${"1,x\n".repeat(20_000)}`), 0x32, 0x2c, 0xc3, 0x28, 0x0a]),
      "text/csv",
      422,
      "NOT_UTF8",
    ],
    ["binary data", new Uint8Array([0x61, 0x2c, 0x62, 0x0a, 0x00, 0x01, 0x02]), "text/csv", 422, "BINARY_FILE"],
    ["bytes that are not UTF-8", new Uint8Array([0x61, 0x0a, 0xff, 0xfe, 0x0a]), "text/csv", 422, "NOT_UTF8"],
    ["JSON that is one object", '{"a":1}', "application/json", 422, "JSON_MALFORMED", /array of objects/],
    ["JSON that is an array of numbers", "[1,2,3]", "application/json", 422, "JSON_MALFORMED", /element 1 is a number/],
    ["broken JSON", '[{"a":1},', "application/json", 422, "JSON_MALFORMED"],
    ["an empty file", "", "text/csv", 422, "EMPTY_FILE"],
    ["a header and no rows", "a,b\n", "text/csv", 422, "EMPTY_FILE"],
    ["a media type it does not read", "<a/>", "application/xml", 415, "UNSUPPORTED_MEDIA_TYPE"],
  ];
  it.each(cases)("%s", async (_, body, type, status, code, detail) => {
    const ada = await person("ds-bad");
    const projectId = await project(ada);
    const problem = await expectProblem(await sendRaw(ada, projectId, body, type), status, code as never);
    if (detail) expect(problem.detail).toMatch(detail);
    expect(await stored(projectId)).toEqual([]);
    expect((await json<{ data: unknown[] }>(await call(`/api/v1/projects/${projectId}/datasets`, { token: ada.token }), 200)).data).toEqual(
      [],
    );
  });

  it("stops at each configured limit with the code naming it", async () => {
    const ada = await person("ds-limits");
    const projectId = await project(ada);
    const big = `a,b\n${"1,2\n".repeat(5_000)}`;
    const stream = () => new Blob([big]).stream();
    await expectProblem(await sendRaw(ada, projectId, stream(), "text/csv", "", { MAX_UPLOAD_BYTES: "1000" }), 413, "UPLOAD_TOO_LARGE");
    await expectProblem(await sendRaw(ada, projectId, big, "text/csv", "", { MAX_UPLOAD_BYTES: "1000" }), 413, "UPLOAD_TOO_LARGE");
    await expectProblem(await sendRaw(ada, projectId, big, "text/csv", "", { MAX_ROWS: "100" }), 422, "TOO_MANY_ROWS");
    await expectProblem(await sendRaw(ada, projectId, "a,b,c\n1,2,3\n", "text/csv", "", { MAX_COLUMNS: "2" }), 422, "TOO_MANY_COLUMNS");
    expect(await stored(projectId)).toEqual([]);
  });
});

describe("another tenant", () => {
  it("gets 404 for the project's uploads and for every dataset route", async () => {
    const [owner, stranger] = [await person("ds-o"), await person("ds-s")];
    const projectId = await project(owner);
    const { id } = await json<Dataset>(await sendRaw(owner, projectId, sales, "text/csv"), 201);
    await expectProblem(await sendRaw(stranger, projectId, sales, "text/csv"), 404, "NOT_FOUND");
    for (const [method, path] of [
      ["GET", `/api/v1/projects/${projectId}/datasets`],
      ["GET", `/api/v1/datasets/${id}`],
      ["GET", `/api/v1/datasets/${id}/rows`],
      ["GET", `/api/v1/datasets/${id}/versions`],
      ["DELETE", `/api/v1/datasets/${id}`],
    ] as const) {
      await expectProblem(await call(path, { method, token: stranger.token }), 404, "NOT_FOUND");
    }
  });
});
