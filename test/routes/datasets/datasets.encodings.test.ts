// Uploads in other encodings (windows-1252 / ISO-8859-1 by ?encoding=, UTF-16 LE and BE by their BOM): the profile, the rows
// preview, the store and the downloads all read the characters as written; a declaration the bytes cannot fit is refused.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { settled } from "../../support/dataset-loads.ts";
import { BASE, call, checkedFetch, json, person, randomIp, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface Dataset {
  id: string;
  sha256: string;
  encoding: string;
  rowCount: number;
  profile: { rowCount: number; columns: { name: string; topValues: { value: string; count: number }[] }[] };
  sample: Record<string, unknown>[];
}

// Characters outside ASCII in each column: é, ü, ï and € (0x80 in windows-1252, absent from Latin-1 proper).
const records = [
  ["city", "dish", "price"],
  ["Zürich", "café crème", "4 €"],
  ["München", "Müsli", "7 €"],
  ["Zürich", "naïve tart", "5 €"],
  ["Besançon", "pâté", "9 €"],
];
const text = `${records.map((record) => record.join(",")).join("\r\n")}\r\n`;
const header = records[0]!;
const body = records.slice(1);

// The test's own encoders, written from the code charts, not with the code under test.
function windows1252(input: string): Uint8Array {
  return Uint8Array.from([...input], (char) => {
    if (char === "€") return 0x80;
    const code = char.codePointAt(0)!;
    if (code > 0xff || (code >= 0x80 && code < 0xa0)) throw new Error(`no windows-1252 byte for ${char} in this test`);
    return code;
  });
}
function utf16(input: string, order: "le" | "be", bom = true): Uint8Array {
  const units = [...(bom ? "\ufeff" : ""), ...input].flatMap((char) => {
    const code = char.codePointAt(0)!;
    return code > 0xffff ? [0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff)] : [code];
  });
  return Uint8Array.from(units.flatMap((unit) => (order === "le" ? [unit & 0xff, unit >> 8] : [unit >> 8, unit & 0xff])));
}

async function project(who: Person) {
  return (await json<{ id: string }>(await call("/api/v1/projects", { method: "POST", token: who.token, body: { name: "Enc" } }), 201)).id;
}

const send = (who: Person, projectId: string, bytes: Uint8Array, query = "", type = "text/csv") =>
  checkedFetch(`${BASE}/api/v1/projects/${projectId}/datasets?name=menu${query}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "CF-Connecting-IP": randomIp(), "Content-Type": type },
    body: bytes,
  });

const stored = async (projectId: string) =>
  (await env.DATASETS.list({ prefix: "datasets/" })).objects.filter((o) => o.key.includes(projectId));

/** What the profile must say for each column, counted here over the records. */
function expectedTopValues(column: number) {
  const counts = new Map<string, number>();
  for (const record of body) counts.set(record[column]!, (counts.get(record[column]!) ?? 0) + 1);
  return counts;
}

async function expectReadsAsWritten(who: Person, dataset: Dataset) {
  expect(dataset.rowCount).toBe(body.length);
  expect(dataset.sample).toEqual(body.map((record) => Object.fromEntries(header.map((name, i) => [name, record[i]]))));
  header.forEach((name, i) => {
    const top = dataset.profile.columns.find((column) => column.name === name)!.topValues;
    expect(new Map(top.map(({ value, count }) => [value, count]))).toEqual(expectedTopValues(i));
  });
  const page = await json<{ columns: string[]; rows: Record<string, unknown>[] }>(
    await call(`/api/v1/datasets/${dataset.id}/rows?offset=1&limit=2`, { token: who.token }),
    200,
  );
  expect(page.columns).toEqual(header);
  expect(page.rows).toEqual(body.slice(1, 3).map((record) => Object.fromEntries(header.map((name, i) => [name, record[i]]))));
}

describe("uploads in other encodings", () => {
  it("loads a windows-1252 CSV declared with ?encoding=: profile, rows, store and downloads show é, ü and €", {
    timeout: 90_000,
  }, async () => {
    const ada = await person("enc-1252");
    const projectId = await project(ada);
    const bytes = windows1252(text);
    // Undeclared, the same bytes are not UTF-8: today's answer, now pointing at the parameter.
    const refused = await expectProblem(await send(ada, projectId, bytes), 422, "NOT_UTF8");
    expect(refused.detail).toMatch(/encoding=/);

    const dataset = await json<Dataset>(await send(ada, projectId, bytes, "&encoding=windows-1252"), 201);
    expect(dataset.encoding).toBe("windows-1252");
    await expectReadsAsWritten(ada, dataset);
    expect((await json<Dataset>(await call(`/api/v1/datasets/${dataset.id}`, { token: ada.token }), 200)).encoding).toBe("windows-1252");

    // The store holds the characters: a query over it returns them.
    expect((await settled(ada, dataset.id)).query).toMatchObject({ status: "ready", rows: body.length });
    const answer = await json<{ rows: unknown[][] }>(
      await call(`/api/v1/datasets/${dataset.id}/query`, {
        method: "POST",
        token: ada.token,
        body: { sql: "SELECT city, count(*) AS n FROM dataset GROUP BY city ORDER BY city" },
      }),
      200,
    );
    const byCity = [...expectedTopValues(0)].sort(([a], [b]) => (a < b ? -1 : 1));
    expect(answer.rows).toEqual(byCity);
    const [dish] = (
      await json<{ rows: unknown[][] }>(
        await call(`/api/v1/datasets/${dataset.id}/query`, {
          method: "POST",
          token: ada.token,
          body: { sql: "SELECT dish FROM dataset WHERE price = '9 €'" },
        }),
        200,
      )
    ).rows;
    expect(dish).toEqual(["pâté"]);

    // `original` keeps the bytes (and says their charset); `csv` is the rows in UTF-8.
    const original = await call(`/api/v1/datasets/${dataset.id}/download`, { token: ada.token });
    expect(original.status).toBe(200);
    expect(original.headers.get("Content-Type")).toBe("text/csv; charset=windows-1252");
    expect(new Uint8Array(await original.arrayBuffer())).toEqual(bytes);
    const csv = await call(`/api/v1/datasets/${dataset.id}/download?format=csv`, { token: ada.token });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(await csv.arrayBuffer())).toBe(text);
  });

  it("reads ISO-8859-1 as windows-1252 does (WHATWG), and the same text in UTF-8 profiles the same", async () => {
    const ada = await person("enc-latin1");
    const projectId = await project(ada);
    const latin1 = await json<Dataset>(await send(ada, projectId, windows1252(text), "&encoding=iso-8859-1"), 201);
    expect(latin1.encoding).toBe("iso-8859-1");
    await expectReadsAsWritten(ada, latin1);
    const utf8 = await json<Dataset>(await send(ada, projectId, new TextEncoder().encode(text)), 201);
    expect(utf8.encoding).toBe("utf-8");
    expect(utf8.profile).toEqual(latin1.profile);
  });

  it.each(["le", "be"] as const)("loads UTF-16%s told by its BOM, as the same text in UTF-8", { timeout: 90_000 }, async (order) => {
    const ada = await person(`enc-16${order}`);
    const projectId = await project(ada);
    const bytes = utf16(text, order);
    const dataset = await json<Dataset>(await send(ada, projectId, bytes), 201);
    expect(dataset.encoding).toBe(`utf-16${order}`);
    await expectReadsAsWritten(ada, dataset);
    const utf8 = await json<Dataset>(await send(ada, projectId, new TextEncoder().encode(text)), 201);
    expect(utf8.profile).toEqual(dataset.profile);
    expect((await settled(ada, dataset.id)).query).toMatchObject({ status: "ready", rows: body.length });
    const answer = await json<{ rows: unknown[][] }>(
      await call(`/api/v1/datasets/${dataset.id}/query`, {
        method: "POST",
        token: ada.token,
        body: { sql: "SELECT price FROM dataset WHERE city = 'Besançon'" },
      }),
      200,
    );
    expect(answer.rows).toEqual([["9 €"]]);
    const original = await call(`/api/v1/datasets/${dataset.id}/download`, { token: ada.token });
    expect(new Uint8Array(await original.arrayBuffer())).toEqual(bytes);
  });

  it("loads NDJSON in UTF-16LE, and one declared with no BOM", async () => {
    const ada = await person("enc-16json");
    const projectId = await project(ada);
    const lines = body.map((record) => JSON.stringify(Object.fromEntries(header.map((name, i) => [name, record[i]])))).join("\n");
    const dataset = await json<Dataset>(await send(ada, projectId, utf16(lines, "le"), "", "application/x-ndjson"), 201);
    expect(dataset.encoding).toBe("utf-16le");
    await expectReadsAsWritten(ada, dataset);
    const declared = await json<Dataset>(await send(ada, projectId, utf16(text, "be", false), "&encoding=utf-16be"), 201);
    await expectReadsAsWritten(ada, declared);
  });

  const refusals: [string, Uint8Array, string, RegExp][] = [
    ["an odd byte count declared UTF-16LE", utf16(text, "le", false).subarray(0, 41), "utf-16le", /UTF-16LE/],
    ["an unpaired surrogate declared UTF-16BE", Uint8Array.from([0, 0x61, 0, 0x0a, 0xd8, 0x00, 0, 0x62, 0, 0x0a]), "utf-16be", /UTF-16BE/],
    ["a UTF-16BE BOM declared UTF-16LE", utf16(text, "be"), "utf-16le", /UTF-16LE.*UTF-16BE byte order mark/],
    ["a UTF-16LE BOM declared windows-1252", utf16(text, "le"), "windows-1252", /windows-1252.*UTF-16LE byte order mark/],
    ["a UTF-8 BOM declared ISO-8859-1", new TextEncoder().encode(`\ufeff${text}`), "iso-8859-1", /ISO-8859-1.*UTF-8 byte order mark/],
  ];
  it.each(refusals)("refuses %s with 422 ENCODING_MISMATCH naming it, keeping nothing", async (_, bytes, encoding, detail) => {
    const ada = await person("enc-bad");
    const projectId = await project(ada);
    const problem = await expectProblem(await send(ada, projectId, bytes, `&encoding=${encoding}`), 422, "ENCODING_MISMATCH");
    expect(problem.detail).toMatch(detail);
    expect(await stored(projectId)).toEqual([]);
  });

  it("answers 400 for an encoding it does not know, and 404 to another tenant", async () => {
    const ada = await person("enc-400");
    const projectId = await project(ada);
    await expectProblem(await send(ada, projectId, windows1252(text), "&encoding=ebcdic"), 400, "VALIDATION_FAILED");
    expect(await stored(projectId)).toEqual([]);
    const dataset = await json<Dataset>(await send(ada, projectId, windows1252(text), "&encoding=windows-1252"), 201);
    const eve = await person("enc-eve");
    await expectProblem(await call(`/api/v1/datasets/${dataset.id}/rows`, { token: eve.token }), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/datasets/${dataset.id}/download`, { token: eve.token }), 404, "NOT_FOUND");
    await expectProblem(await send(eve, projectId, windows1252(text), "&encoding=windows-1252"), 404, "NOT_FOUND");
  });
});
