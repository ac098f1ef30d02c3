// Uploads with ?onError=skip in workerd against real R2, Postgres and the store: bad rows left out of the profile, the preview and
// the store alike, listed in the reject report (expected entries worked out here from the file's own lines), the default refusing.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { datasets } from "../../../src/db/schema.ts";
import { addMember, BASE, call, checkedFetch, json, person, randomIp, team, type Person } from "../../support/harness.ts";
import { newProject, settled, storeRows } from "../../support/dataset-loads.ts";
import { expectProblem } from "../../support/problem.ts";

interface Reject {
  line: number;
  column: number | null;
  reason: string;
  raw: string;
}
interface Uploaded {
  id: string;
  sha256: string;
  rowCount: number;
  columnCount: number;
  onError: string;
  rejectedCount: number;
  profile: { rowCount: number; columns: { name: string; count: number }[] };
}
interface Report {
  rejectedCount: number;
  listed: number;
  offset: number;
  limit: number;
  data: Reject[];
}

const db = () => createDb(env);

async function send(who: Person, projectId: string, body: string, type: string, query = "") {
  return checkedFetch(`${BASE}/api/v1/projects/${projectId}/datasets${query}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "Content-Type": type, "CF-Connecting-IP": randomIp() },
    body,
  });
}

const report = async (who: Person, id: string, query = "") =>
  json<Report>(await call(`/api/v1/datasets/${id}/rejects${query}`, { token: who.token }), 200);

/** The store's row count, read inside its Durable Object once the load settled. */
async function storedCount(who: Person, dataset: Uploaded) {
  const loaded = await settled(who, dataset.id);
  expect(loaded.query.status).toBe("ready");
  const [{ orgId }] = (await db().select({ orgId: datasets.orgId }).from(datasets).where(eq(datasets.id, dataset.id))) as [
    { orgId: string },
  ];
  const [count] = await storeRows<{ n: number }>({ ...dataset, orgId }, "SELECT count(*) AS n FROM dataset");
  return count!.n;
}

/** The first 1 KiB of an ASCII line, as the report cuts it. */
const cut = (line: string) => line.slice(0, 1024);

/**
 * The expected CSV report from the file alone (no quotes in these files, so a line is a record and commas split it): each
 * non-blank line after the header whose cell count is not the header's, numbered from 1 with the header and blanks counting.
 */
function csvExpected(csv: string): { rejects: Reject[]; good: number } {
  const lines = csv.split("\n");
  const width = lines[0]!.split(",").length;
  const rejects: Reject[] = [];
  let good = 0;
  lines.forEach((line, i) => {
    if (i === 0 || line === "") return;
    const cells = line.split(",").length;
    if (cells === width) good++;
    else rejects.push({ line: i + 1, column: Math.min(cells, width) + 1, reason: "CSV_RAGGED_ROW", raw: cut(line) });
  });
  return { rejects, good };
}

const depthOf = (value: unknown): number =>
  value !== null && typeof value === "object" ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;

/** The expected NDJSON report: each non-blank line that JSON.parse refuses, that is no object, or that nests past 32 levels. */
function ndjsonExpected(ndjson: string): { rejects: Reject[]; good: Record<string, unknown>[] } {
  const rejects: Reject[] = [];
  const good: Record<string, unknown>[] = [];
  ndjson.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      rejects.push({ line: i + 1, column: null, reason: "JSON_MALFORMED", raw: cut(line) });
      return;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value))
      rejects.push({ line: i + 1, column: null, reason: "NOT_AN_OBJECT", raw: cut(line) });
    else if (depthOf(value) > 32) rejects.push({ line: i + 1, column: null, reason: "JSON_TOO_DEEP", raw: cut(line) });
    else good.push(value as Record<string, unknown>);
  });
  return { rejects, good };
}

const salesCsv = (rows: number, ragged: (i: number) => string | null) => {
  const lines = ["id,region,amount"];
  for (let i = 1; i <= rows; i++) lines.push(ragged(i) ?? `${i},${i % 2 ? "North" : "South"},${i * 1.5}`);
  return `${lines.join("\n")}\n`;
};

describe("onError=skip on a CSV", () => {
  it("leaves ragged rows out of the profile, the preview and the store, and reports each", { timeout: 90_000 }, async () => {
    const ada = await person("rej");
    const projectId = await newProject(ada);
    const long = `77,${"x".repeat(3000)}`; // two cells, and past the 1 KiB the report keeps
    const csv = salesCsv(60, (i) =>
      i === 3 ? "3,North" : i === 10 ? "10,South,4,extra" : i === 20 ? "" : i === 41 ? long : i === 50 ? "50" : null,
    );
    const expected = csvExpected(csv);
    expect(expected.rejects.length).toBe(4);

    const dataset = await json<Uploaded>(await send(ada, projectId, csv, "text/csv", "?name=sales&onError=skip"), 201);
    expect(dataset).toMatchObject({ onError: "skip", rowCount: expected.good, rejectedCount: expected.rejects.length, columnCount: 3 });
    expect(dataset.profile.rowCount).toBe(expected.good);
    expect(dataset.profile.columns.find((c) => c.name === "id")!.count).toBe(expected.good);

    const page = await report(ada, dataset.id);
    expect(page).toEqual({
      rejectedCount: expected.rejects.length,
      listed: expected.rejects.length,
      offset: 0,
      limit: 100,
      data: expected.rejects,
    });
    expect(page.data.find((r) => r.line === 42)!.raw).toHaveLength(1024);

    const preview = await json<{ rows: { id: string }[]; total: number }>(
      await call(`/api/v1/datasets/${dataset.id}/rows?limit=1000`, { token: ada.token }),
      200,
    );
    expect(preview.total).toBe(expected.good);
    expect(preview.rows.map((row) => row.id)).toEqual(
      csv
        .split("\n")
        .slice(1)
        .filter((line) => line.split(",").length === 3)
        .map((line) => line.split(",")[0]),
    );
    // A CSV download converts (it does not hand back the rejected rows); the original is the file as sent.
    const download = await call(`/api/v1/datasets/${dataset.id}/download?format=csv`, { token: ada.token });
    const downloaded = (await download.text()).split("\r\n").filter((line) => line !== "");
    expect(downloaded).toEqual([
      "id,region,amount",
      ...csv
        .split("\n")
        .slice(1)
        .filter((line) => line.split(",").length === 3),
    ]);
    const original = await call(`/api/v1/datasets/${dataset.id}/download`, { token: ada.token });
    expect(await original.text()).toBe(csv);
    expect(await storedCount(ada, dataset)).toBe(dataset.rowCount);
  });

  it("is refused by default and with onError=fail, leaving nothing in R2", async () => {
    const ada = await person("rej-f");
    const projectId = await newProject(ada);
    const csv = salesCsv(5, (i) => (i === 2 ? "2,North" : null));
    await expectProblem(await send(ada, projectId, csv, "text/csv"), 422, "CSV_MALFORMED");
    await expectProblem(await send(ada, projectId, csv, "text/csv", "?onError=fail"), 422, "CSV_MALFORMED");
    await expectProblem(await send(ada, projectId, csv, "text/csv", "?onError=maybe"), 400, "VALIDATION_FAILED");
    const left = (await env.DATASETS.list({ prefix: "datasets/" })).objects.filter((o) => o.key.includes(projectId));
    expect(left).toEqual([]);
  });

  it("lists the first 1,000 rejects and counts every one", { timeout: 90_000 }, async () => {
    const ada = await person("rej-cap");
    const projectId = await newProject(ada);
    const csv = salesCsv(2_000, (i) => (i % 4 !== 0 ? `${i},short` : null)); // 1,500 ragged rows, 500 good
    const expected = csvExpected(csv);
    expect(expected.rejects.length).toBe(1_500);

    const dataset = await json<Uploaded>(await send(ada, projectId, csv, "text/csv", "?onError=skip"), 201);
    expect(dataset.rowCount + dataset.rejectedCount).toBe(2_000);
    expect(dataset).toMatchObject({ rowCount: expected.good, rejectedCount: 1_500 });

    const all = await report(ada, dataset.id, "?limit=1000");
    expect(all).toMatchObject({ rejectedCount: 1_500, listed: 1_000 });
    expect(all.data).toEqual(expected.rejects.slice(0, 1_000));
    expect((await report(ada, dataset.id, "?offset=990&limit=50")).data).toEqual(expected.rejects.slice(990, 1_000));
    expect((await report(ada, dataset.id, "?offset=1000")).data).toEqual([]);
    await expectProblem(await call(`/api/v1/datasets/${dataset.id}/rejects?limit=0`, { token: ada.token }), 400, "VALIDATION_FAILED");
    expect(await storedCount(ada, dataset)).toBe(expected.good);
  });

  it("refuses a file every data row of which is rejected", async () => {
    const ada = await person("rej-e");
    const projectId = await newProject(ada);
    await expectProblem(await send(ada, projectId, "a,b\n1\n2\n", "text/csv", "?onError=skip"), 422, "EMPTY_FILE");
  });
});

describe("onError=skip on NDJSON and JSON", () => {
  it("leaves out lines that are not JSON, not objects or too deep, adding none of their keys", { timeout: 90_000 }, async () => {
    const ada = await person("rej-nd");
    const projectId = await newProject(ada);
    const deep = `{"deepKey":${"[".repeat(40)}${"]".repeat(40)}}`;
    const lines = [
      '{"id":1,"city":"Paris"}',
      '{"id":2,"city":', // cut short
      "[1,2,3]",
      "",
      '{"id":3,"city":"Lyon"}',
      "42",
      deep,
      "not json at all",
      '{"id":4,"city":"Köln"}',
      `{"id":5,"note":"${"é".repeat(700)}"`, // malformed, and past 1 KiB of UTF-8 (1,400 bytes of é)
      '{"id":6,"city":"Rome"}',
    ];
    const ndjson = `${lines.join("\n")}\n`;
    const expected = ndjsonExpected(ndjson);
    expect(expected.rejects.map((r) => r.reason)).toEqual([
      "JSON_MALFORMED",
      "NOT_AN_OBJECT",
      "NOT_AN_OBJECT",
      "JSON_TOO_DEEP",
      "JSON_MALFORMED",
      "JSON_MALFORMED",
    ]);
    // The report cuts at 1 KiB of UTF-8 on a character boundary: the characters whose bytes fit in 1,024.
    const longLine = lines[9]!;
    let bytes = 0;
    let keep = 0;
    for (const char of longLine) {
      bytes += new TextEncoder().encode(char).length;
      if (bytes > 1024) break;
      keep += char.length;
    }
    expected.rejects[5]!.raw = longLine.slice(0, keep);

    const dataset = await json<Uploaded>(await send(ada, projectId, ndjson, "application/x-ndjson", "?onError=skip"), 201);
    expect(dataset).toMatchObject({ rowCount: expected.good.length, rejectedCount: expected.rejects.length });
    expect(dataset.profile.columns.map((c) => c.name)).toEqual(["id", "city"]); // no deepKey, no note
    expect((await report(ada, dataset.id)).data).toEqual(expected.rejects);

    const preview = await json<{ rows: Record<string, unknown>[] }>(
      await call(`/api/v1/datasets/${dataset.id}/rows`, { token: ada.token }),
      200,
    );
    expect(preview.rows).toEqual(expected.good);
    expect(await storedCount(ada, dataset)).toBe(expected.good.length);
  });

  it("passes over a line too long to hold, reporting its start, and reads on from the next line", { timeout: 90_000 }, async () => {
    const ada = await person("rej-big");
    const projectId = await newProject(ada);
    const huge = `{"id":2,"text":"${"y".repeat(9 * 1024 * 1024)}"}`; // past the 8 Mi characters an NDJSON line may have
    const ndjson = ['{"id":1}', huge, '{"id":3}', ""].join("\n");
    const dataset = await json<Uploaded>(await send(ada, projectId, ndjson, "application/x-ndjson", "?onError=skip"), 201);
    expect(dataset).toMatchObject({ rowCount: 2, rejectedCount: 1 });
    expect(dataset.profile.columns.map((c) => c.name)).toEqual(["id"]);
    expect((await report(ada, dataset.id)).data).toEqual([{ line: 2, column: null, reason: "ROW_TOO_LARGE", raw: huge.slice(0, 1024) }]);
    expect(await storedCount(ada, dataset)).toBe(2);
    await expectProblem(await send(ada, projectId, ndjson, "application/x-ndjson"), 422, "ROW_TOO_LARGE");
  });

  it("refuses the same NDJSON by default", async () => {
    const ada = await person("rej-nd-f");
    const projectId = await newProject(ada);
    await expectProblem(await send(ada, projectId, '{"a":1}\n{"a":\n', "application/x-ndjson"), 422, "JSON_MALFORMED");
  });

  it("leaves out JSON array elements that are not objects, numbered by their place", async () => {
    const ada = await person("rej-js");
    const projectId = await newProject(ada);
    const elements: unknown[] = [{ a: 1 }, "text", { a: 2 }, [1], null, { a: 3 }];
    const dataset = await json<Uploaded>(await send(ada, projectId, JSON.stringify(elements), "application/json", "?onError=skip"), 201);
    const expected = elements.flatMap((value, i) =>
      value === null || typeof value !== "object" || Array.isArray(value)
        ? [{ line: i + 1, column: null, reason: "NOT_AN_OBJECT", raw: JSON.stringify(value) }]
        : [],
    );
    expect(dataset).toMatchObject({ rowCount: elements.length - expected.length, rejectedCount: expected.length });
    expect((await report(ada, dataset.id)).data).toEqual(expected);
  });
});

describe("the reject report's access", () => {
  it("is readable by a viewer and a 404 to another tenant; empty for a fail upload", async () => {
    const [owner, viewer, stranger] = [await person("rej-o"), await person("rej-v"), await person("rej-s")];
    const slug = await team(owner);
    await addMember(owner, slug, viewer, "viewer");
    const { id: projectId } = await json<{ id: string }>(
      await call("/api/v1/projects", { method: "POST", token: owner.token, body: { org: slug, name: "Team data" } }),
      201,
    );
    const csv = salesCsv(4, (i) => (i === 2 ? "2" : null));
    const dataset = await json<Uploaded>(await send(owner, projectId, csv, "text/csv", "?onError=skip"), 201);
    expect((await report(viewer, dataset.id)).data).toEqual(csvExpected(csv).rejects);
    await expectProblem(await call(`/api/v1/datasets/${dataset.id}/rejects`, { token: stranger.token }), 404, "NOT_FOUND");

    const clean = await json<Uploaded>(
      await send(
        owner,
        projectId,
        salesCsv(3, () => null),
        "text/csv",
      ),
      201,
    );
    expect(clean).toMatchObject({ onError: "fail", rejectedCount: 0 });
    expect(await report(owner, clean.id)).toEqual({ rejectedCount: 0, listed: 0, offset: 0, limit: 100, data: [] });
  });
});
