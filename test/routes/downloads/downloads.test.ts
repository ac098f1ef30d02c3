// Dataset downloads through the Worker, from real R2 and Postgres: the uploaded bytes, CSV of JSON, Parquet read back with hyparquet, keys, tenancy, bad input.
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import { checkedFetch, addMember, BASE, call, json, person, randomIp, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface Dataset {
  id: string;
  sha256: string;
  rowCount: number;
  profile: { columns: { name: string; type: string }[] };
}

async function project(who: Person, org?: string) {
  return (
    await json<{ id: string }>(
      await call("/api/v1/projects", { method: "POST", token: who.token, body: { name: "Data", ...(org ? { org } : {}) } }),
      201,
    )
  ).id;
}

async function upload(who: Person, projectId: string, body: string, contentType: string, name: string): Promise<Dataset> {
  const response = await checkedFetch(`${BASE}/api/v1/projects/${projectId}/datasets?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "CF-Connecting-IP": randomIp(), "Content-Type": contentType },
    body,
  });
  return json<Dataset>(response, 201);
}

const download = (token: string, id: string, query = "", headers: Record<string, string> = {}) =>
  call(`/api/v1/datasets/${id}/download${query}`, { token, headers });

const sha256 = async (bytes: ArrayBuffer | Uint8Array) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((byte) => byte.toString(16).padStart(2, "0")).join("");

// Every type, with nulls: raw cells as a person would type them, written out as CSV below.
const header = ["id", "amount", "paid", "at", "label", "empty"];
const cells = [
  ["1", "10.5", "true", "2026-01-01T10:00:00Z", "North, upper", ""],
  ["-2", "20", "false", "2026-01-02", 'she said "hi"', ""],
  ["3", "", "TRUE", "", "Zürich ☃ 東京", ""],
  ["4", "-0.25", "", "2026-03-04 05:06:07", "", ""],
  ["12345678901234567", "1e3", "False", "2026-12-31T23:59:59.123Z", "NA", ""],
  ["", "0.1", "false", "2026-06-30T12:00:00+02:00", "line\nbreak", ""],
];
const quote = (cell: string) => (/[",\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell);
const csv = [header, ...cells].map((row) => row.map(quote).join(",")).join("\r\n") + "\r\n";

/** The value each raw cell should come back as, worked out here by hand-written rules, not by the code under test. */
const isNull = (raw: string) => ["", "na", "n/a", "null", "none", "nan"].includes(raw.trim().toLowerCase());
const instant = (raw: string) => new Date(raw.length === 10 || /(Z|[+-]\d\d:\d\d)$/.test(raw) ? raw : `${raw.replace(" ", "T")}Z`);
const readers: ((raw: string) => unknown)[] = [BigInt, Number, (raw) => raw.toLowerCase() === "true", instant, (raw) => raw, (raw) => raw];
const expected = cells.map((row) => Object.fromEntries(header.map((name, i) => [name, isNull(row[i]!) ? null : readers[i]!(row[i]!)])));

describe("downloading a CSV dataset", () => {
  it("streams the exact uploaded bytes with their type, name, hash and length; If-None-Match is 304", async () => {
    const ada = await person("dl-csv");
    const dataset = await upload(ada, await project(ada), csv, "text/csv", "Ventes été");
    const response = await download(ada.token, dataset.id);
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(response.status).toBe(200);
    expect(await sha256(bytes)).toBe(await sha256(new TextEncoder().encode(csv)));
    expect(dataset.sha256).toBe(await sha256(bytes));
    expect(response.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("Content-Length")).toBe(String(bytes.length));
    expect(response.headers.get("ETag")).toBe(`"${dataset.sha256}"`);
    expect(response.headers.get("Content-Disposition")).toBe(
      `attachment; filename="Ventes-ete.csv"; filename*=UTF-8''Ventes%20%C3%A9t%C3%A9.csv`,
    );

    // format=csv of a CSV upload is the same file.
    const asCsv = await download(ada.token, dataset.id, "?format=csv");
    expect(await sha256(await asCsv.arrayBuffer())).toBe(dataset.sha256);
    expect(asCsv.headers.get("ETag")).toBe(`"${dataset.sha256}"`);

    const again = await download(ada.token, dataset.id, "", { "If-None-Match": `"${dataset.sha256}"` });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });

  it("writes Parquet typed by the profile that reads back as the file's rows, nulls included", async () => {
    const ada = await person("dl-pq");
    const dataset = await upload(ada, await project(ada), csv, "text/csv", "typed");
    expect(dataset.profile.columns.map((column) => column.type)).toEqual(["integer", "number", "boolean", "datetime", "string", "string"]);
    const response = await download(ada.token, dataset.id, "?format=parquet");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/vnd.apache.parquet");
    expect(response.headers.get("Content-Disposition")).toBe('attachment; filename="typed.parquet"');
    expect(response.headers.get("ETag")).toBe(`W/"${dataset.sha256}.parquet"`);
    const file = await response.arrayBuffer();
    expect(await parquetReadObjects({ file })).toEqual(expected);

    const metadata = parquetMetadata(file);
    expect(metadata.schema.slice(1).map((element) => [element.name, element.type, element.logical_type?.type ?? null])).toEqual([
      ["id", "INT64", null],
      ["amount", "DOUBLE", null],
      ["paid", "BOOLEAN", null],
      ["at", "INT64", "TIMESTAMP"],
      ["label", "BYTE_ARRAY", "STRING"],
      ["empty", "BYTE_ARRAY", "STRING"],
    ]);
    expect(metadata.key_value_metadata).toContainEqual({ key: "datacrafted.dataset.sha256", value: dataset.sha256 });
    expect((await download(ada.token, dataset.id, "?format=parquet", { "If-None-Match": `W/"${dataset.sha256}.parquet"` })).status).toBe(
      304,
    );
  });

  it("splits a large file into bounded row groups and keeps every row", async () => {
    const ada = await person("dl-groups");
    // 128 columns: a row group holds 131,072 cells, so 1,024 rows; 2,100 rows make three groups.
    const width = 128;
    const names = Array.from({ length: width }, (_, i) => `c${i}`);
    const lines = Array.from({ length: 2_100 }, (_, r) => names.map((_, c) => String((r * 7 + c) % 1_000)).join(","));
    const dataset = await upload(ada, await project(ada), [names.join(","), ...lines].join("\n"), "text/csv", "wide");
    const file = await (await download(ada.token, dataset.id, "?format=parquet")).arrayBuffer();
    const metadata = parquetMetadata(file);
    expect(metadata.row_groups.map((group) => Number(group.num_rows))).toEqual([1_024, 1_024, 52]);
    const rows = await parquetReadObjects({ file, columns: ["c0", "c127"] });
    expect(rows).toHaveLength(2_100);
    const sum = (c: number) => lines.reduce((total, _, r) => total + ((r * 7 + c) % 1_000), 0);
    expect(rows.reduce((total, row) => total + Number(row.c0), 0)).toBe(sum(0));
    expect(rows.reduce((total, row) => total + Number(row.c127), 0)).toBe(sum(127));
  });
});

describe("downloading a JSON dataset", () => {
  const records = [
    { a: 1, b: "x", c: true },
    { a: 2.5, b: "y, z", d: null },
    { a: null, b: 'say "no"', c: false, e: { k: [1, 2] } },
  ];
  const text = JSON.stringify(records, null, 1);

  it("gives the file back as uploaded, as CSV of its rows, and as Parquet", async () => {
    const ada = await person("dl-json");
    const dataset = await upload(ada, await project(ada), text, "application/json", "events");
    const columns = ["a", "b", "c", "d", "e"];
    expect(dataset.profile.columns.map((column) => column.name)).toEqual(columns);

    const original = await download(ada.token, dataset.id);
    expect(original.headers.get("Content-Type")).toBe("application/json");
    expect(original.headers.get("Content-Disposition")).toBe('attachment; filename="events.json"');
    expect(await original.text()).toBe(text);

    const asCsv = await download(ada.token, dataset.id, "?format=csv");
    expect(asCsv.status).toBe(200);
    expect(asCsv.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(asCsv.headers.get("Content-Disposition")).toBe('attachment; filename="events.csv"');
    expect(asCsv.headers.get("Content-Length")).toBeNull();
    const cell = (value: unknown) => {
      if (value === null || value === undefined) return "";
      const written = typeof value === "object" ? JSON.stringify(value) : String(value);
      return /[",]/.test(written) ? `"${written.replaceAll('"', '""')}"` : written;
    };
    const lines = [
      columns.join(","),
      ...records.map((record) => columns.map((name) => cell((record as Record<string, unknown>)[name])).join(",")),
    ];
    expect(await asCsv.text()).toBe(lines.map((line) => `${line}\r\n`).join(""));

    const file = await (await download(ada.token, dataset.id, "?format=parquet")).arrayBuffer();
    const types = dataset.profile.columns.map((column) => column.type);
    expect(types).toEqual(["number", "string", "boolean", "string", "string"]);
    const asString = (value: unknown) =>
      value === null || value === undefined ? null : typeof value === "object" ? JSON.stringify(value) : String(value);
    expect(await parquetReadObjects({ file })).toEqual(
      records.map((record: Record<string, unknown>) => ({
        a: record.a ?? null,
        b: asString(record.b),
        c: record.c ?? null,
        d: asString(record.d),
        e: asString(record.e),
      })),
    );
  });

  it("serves NDJSON as NDJSON", async () => {
    const ada = await person("dl-ndjson");
    const ndjson = records.map((record) => JSON.stringify(record)).join("\n");
    const dataset = await upload(ada, await project(ada), ndjson, "application/x-ndjson", "lines");
    const response = await download(ada.token, dataset.id);
    expect(response.headers.get("Content-Type")).toBe("application/x-ndjson");
    expect(response.headers.get("Content-Disposition")).toBe('attachment; filename="lines.ndjson"');
    expect(new TextDecoder().decode(await response.arrayBuffer())).toBe(ndjson);
    const file = await (await download(ada.token, dataset.id, "?format=parquet")).arrayBuffer();
    expect((await parquetReadObjects({ file, columns: ["a"] })).map((row) => row.a)).toEqual([1, 2.5, null]);
  });
});

describe("who may download", () => {
  it("a viewer of the organization may", async () => {
    const [owner, viewer] = [await person("dl-team"), await person("dl-viewer")];
    const slug = await team(owner);
    await addMember(owner, slug, viewer, "viewer");
    const dataset = await upload(owner, await project(owner, slug), csv, "text/csv", "team");
    const response = await download(viewer.token, dataset.id, "?format=csv");
    expect(response.status).toBe(200);
    expect(await sha256(await response.arrayBuffer())).toBe(dataset.sha256);
  });

  it("a read-scoped API key of the organization may", async () => {
    const owner = await person("dl-key");
    const slug = await team(owner);
    const dataset = await upload(owner, await project(owner, slug), csv, "text/csv", "shared");
    const key = await json<{ key: string }>(
      await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: owner.token, body: { name: "reader", scopes: ["read"] } }),
      201,
    );
    const response = await download(key.key, dataset.id);
    expect(response.status).toBe(200);
    expect(await sha256(await response.arrayBuffer())).toBe(dataset.sha256);
    const file = await (await download(key.key, dataset.id, "?format=parquet")).arrayBuffer();
    expect(await parquetReadObjects({ file })).toEqual(expected);
  });

  it("another tenant, a deleted dataset, no token and a bad format are problems, not files", async () => {
    const [ada, eve] = [await person("dl-owner"), await person("dl-eve")];
    const dataset = await upload(ada, await project(ada), csv, "text/csv", "private");
    for (const query of ["", "?format=csv", "?format=parquet", "?format=xlsx"])
      await expectProblem(await download(eve.token, dataset.id, query), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/datasets/${dataset.id}/download`), 401, "UNAUTHORIZED");

    const bad = await expectProblem(await download(ada.token, dataset.id, "?format=xls"), 400, "VALIDATION_FAILED");
    expect((bad.errors as { path: string }[]).map((error) => error.path)).toEqual(["query.format"]);
    await expectProblem(await download(ada.token, "not-a-uuid"), 400, "VALIDATION_FAILED");

    expect((await call(`/api/v1/datasets/${dataset.id}`, { method: "DELETE", token: ada.token })).status).toBe(204);
    for (const query of ["", "?format=parquet", "?format=xlsx"])
      await expectProblem(await download(ada.token, dataset.id, query), 404, "NOT_FOUND");
  });
});

describe("the OpenAPI document", () => {
  it("describes the download with each media type: files as binary strings, a JSON upload as its array of rows", async () => {
    const doc = (await (await checkedFetch(`${BASE}/openapi.json`)).json()) as {
      paths: Record<
        string,
        { get?: { operationId: string; responses: Record<string, { content?: Record<string, { schema: unknown }> }> } }
      >;
    };
    const operation = doc.paths["/api/v1/datasets/{id}/download"]?.get;
    expect(operation?.operationId).toBe("downloadDataset");
    const content = operation?.responses["200"]?.content ?? {};
    expect(Object.keys(content)).toEqual([
      "text/csv",
      "text/tab-separated-values",
      "application/json",
      "application/x-ndjson",
      "application/vnd.apache.parquet",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]);
    for (const [type, media] of Object.entries(content)) {
      const expected =
        type === "application/json"
          ? { type: "array", items: { type: "object", additionalProperties: true } }
          : { type: "string", format: "binary" };
      expect(media.schema, type).toEqual(expected);
    }
  });
});
