// Workbooks larger than one inflated chunk: merged cells written after many megabytes of rows (with a namespace prefix, as some
// writers use) are still found by the first pass, which scans as it streams; a shared-string table past its bound is refused.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_SHARED_STRINGS_BYTES } from "../../../src/services/datasets/formats/xlsx-reader.ts";
import { BASE, call, checkedFetch, json, person, randomIp, type Person } from "../../support/harness.ts";
import { settled } from "../../support/dataset-loads.ts";
import { expectProblem } from "../../support/problem.ts";
import { workbook } from "../../support/xlsx-fixtures.ts";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const ROWS = 120_000;

async function project(who: Person) {
  return (
    await json<{ id: string }>(await call("/api/v1/projects", { method: "POST", token: who.token, body: { name: "Big Excel" } }), 201)
  ).id;
}

const send = (who: Person, projectId: string, body: Uint8Array) =>
  checkedFetch(`${BASE}/api/v1/projects/${projectId}/datasets?name=big`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "CF-Connecting-IP": randomIp(), "Content-Type": XLSX },
    body,
  });

const inline = (ref: string, text: string) => `<x:c r="${ref}" t="inlineStr"><x:is><x:t>${text}</x:t></x:is></x:c>`;

/** A sheet in the x: prefix: a two-row header (Region merged down, Revenue over Q1 and Q2), then ROWS data rows, then the merges. */
function bigSheet() {
  const rows: string[] = [
    `<x:row r="1">${inline("A1", "Region")}${inline("B1", "Revenue")}</x:row>`,
    `<x:row r="2">${inline("B2", "Q1")}${inline("C2", "Q2")}</x:row>`,
  ];
  for (let r = 3; r < ROWS + 3; r++)
    rows.push(
      `<x:row r="${r}">${inline(`A${r}`, r % 2 ? "North" : "South")}<x:c r="B${r}"><x:v>${r}</x:v></x:c><x:c r="C${r}"><x:v>${r * 0.5}</x:v></x:c></x:row>`,
    );
  return `<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="${MAIN}"><x:sheetData>${rows.join("")}</x:sheetData><x:mergeCells count="2"><x:mergeCell ref="A1:A2"/><x:mergeCell ref="B1:C1"/></x:mergeCells></x:worksheet>`;
}

describe("large Excel uploads", () => {
  it("a sheet of 120,000 rows (megabytes of XML) is read with the merged header written after its rows; the store loads", async () => {
    const ada = await person("xl-large");
    const projectId = await project(ada);
    const xml = bigSheet();
    expect(xml.length).toBeGreaterThan(12 * 1024 * 1024); // many inflated chunks before the merges
    const file = workbook([{ name: "Big", rows: [] }], { "xl/worksheets/sheet1.xml": xml });
    const dataset = await json<{ id: string; rowCount: number; profile: { columns: { name: string; max: unknown }[] } }>(
      await send(ada, projectId, file),
      201,
    );
    expect(dataset.rowCount).toBe(ROWS);
    expect(dataset.profile.columns.map((column) => column.name)).toEqual(["Region", "Revenue Q1", "Revenue Q2"]);
    expect(dataset.profile.columns[1]!.max).toBe(ROWS + 2);
    expect((await settled(ada, dataset.id, 120_000)).query).toMatchObject({ status: "ready", rows: ROWS });
  });

  it("shared strings past MAX_SHARED_STRINGS_BYTES are 422 XLSX_TOO_LARGE (they would all be held); nothing is kept", async () => {
    const ada = await person("xl-strings");
    const projectId = await project(ada);
    const text = "a shared string of some length, repeated to fill the table past its bound ";
    const count = Math.ceil(MAX_SHARED_STRINGS_BYTES / text.length) + 1;
    const sst = `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="${MAIN}">${`<si><t>${text}</t></si>`.repeat(count)}</sst>`;
    const file = workbook([{ name: "Strings", rows: [[{ s: "name" }], [{ s: "name" }]] }], { "xl/sharedStrings.xml": sst });
    const problem = await expectProblem(await send(ada, projectId, file), 422, "XLSX_TOO_LARGE");
    expect(problem.detail).toContain("shared strings");
    expect((await env.DATASETS.list({ prefix: "datasets/" })).objects.filter((o) => o.key.includes(projectId))).toEqual([]);
    const listed = await json<{ data: unknown[] }>(await call(`/api/v1/projects/${projectId}/datasets`, { token: ada.token }), 200);
    expect(listed.data).toEqual([]);
  });
});
