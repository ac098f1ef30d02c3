// Excel uploads through the Worker into real R2 and Postgres: merged headers, dates, formulas, shared strings, sheets; a CSV's
// .xlsx download uploaded again is the same dataset; zip bombs, damaged and mislabelled files and too many rows leave nothing.
import { unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { addMember, BASE, call, json, person, team, type Person } from "../../support/harness.ts";
import { settled } from "../../support/dataset-loads.ts";
import { datasetsOf, query, send, sendWith, stored } from "../../support/dataset-uploads.ts";
import { expectProblem } from "../../support/problem.ts";
import { type FixtureCell, type FixtureSheet, serial, workbook } from "../../support/xlsx-fixtures.ts";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

interface Dataset {
  id: string;
  format: string;
  rowCount: number;
  columnCount: number;
  profile: { rowCount: number; columns: { name: string; type: string; nulls: number; min: unknown; max: unknown }[] };
  sample: Record<string, unknown>[];
}

async function project(who: Person, org?: string) {
  return (
    await json<{ id: string }>(
      await call("/api/v1/projects", { method: "POST", token: who.token, body: { name: "Excel", ...(org ? { org } : {}) } }),
      201,
    )
  ).id;
}

const s = (text: string): FixtureCell => ({ s: text });
const n = (value: number, style?: number): FixtureCell => ({ n: value, style });

/**
 * A report as analysts make them: a title row merged across, then a two-row header ("Region" merged down, "Revenue" merged over
 * Q1 and Q2), dates (the built-in date format and a custom date-time one), a percentage (a number, not a date), a formula with its
 * cached value, a formula giving text, a boolean, an error cell, blanks, and a blank row.
 */
const report: FixtureSheet = {
  name: "Sales 2026",
  rows: [
    [s("Region"), s("Revenue"), null, s("Day"), s("At"), s("Share"), s("Total"), s("Label"), s("Paid"), s("Check")],
    [null, s("Q1"), s("Q2"), null, null, null, null, null, null, null],
    [
      s("North"),
      n(10.5),
      n(20),
      n(serial("2026-01-05"), 1),
      n(serial("2026-01-05T10:30:00Z"), 2),
      n(0.25, 3),
      { f: "B3+C3", v: 30.5 },
      { f: 'A3&"!"', v: "North!" },
      { b: true },
      { e: "#DIV/0!" },
    ],
    [
      s("South"),
      n(7),
      null,
      n(serial("2026-02-28"), 1),
      n(serial("2026-02-28T23:59:00Z"), 2),
      n(0.5, 3),
      { f: "B4+C4", v: 7 },
      { f: 'A4&"!"', v: "South!" },
      { b: false },
      n(1),
    ],
    [],
    [
      s("East"),
      n(-3),
      n(4.75),
      null,
      n(serial("2026-03-01T00:00:01Z"), 2),
      n(1, 3),
      { f: "B6+C6", v: 1.75 },
      { f: 'A6&"!"', v: "East!" },
      null,
      n(2),
    ],
  ],
  merges: ["A1:A2", "B1:C1", "D1:D2", "E1:E2", "F1:F2", "G1:G2", "H1:H2", "I1:I2", "J1:J2"],
};
const other: FixtureSheet = {
  name: "Notes",
  rows: [
    [s("note"), s("n")],
    [s("first"), n(1)],
    [s("second"), n(2)],
  ],
};

describe("uploading Excel", () => {
  it("reads the first sheet: merged headers named, dates as dates, formulas as their cached values, errors as nulls; the store loads", async () => {
    const ada = await person("xl");
    const projectId = await project(ada);
    const form = new FormData();
    form.append("file", new File([workbook([report, other])], "Sales report.xlsx", { type: "application/octet-stream" }));
    const multipart = new Request(BASE, { method: "POST", body: form });
    const dataset = await json<Dataset>(
      await send(ada, projectId, await multipart.arrayBuffer(), multipart.headers.get("Content-Type")!),
      201,
    );
    expect(dataset).toMatchObject({ format: "xlsx", rowCount: 3, columnCount: 10 });
    expect(dataset.profile.columns.map((column) => [column.name, column.type])).toEqual([
      ["Region", "string"],
      ["Revenue Q1", "number"],
      ["Revenue Q2", "number"],
      ["Day", "datetime"],
      ["At", "datetime"],
      ["Share", "number"],
      ["Total", "number"],
      ["Label", "string"],
      ["Paid", "boolean"],
      ["Check", "integer"],
    ]);
    expect(dataset.sample).toEqual([
      {
        Region: "North",
        "Revenue Q1": 10.5,
        "Revenue Q2": 20,
        Day: "2026-01-05",
        At: "2026-01-05T10:30:00.000Z",
        Share: 0.25,
        Total: 30.5,
        Label: "North!",
        Paid: true,
        Check: null,
      },
      {
        Region: "South",
        "Revenue Q1": 7,
        "Revenue Q2": null,
        Day: "2026-02-28",
        At: "2026-02-28T23:59:00.000Z",
        Share: 0.5,
        Total: 7,
        Label: "South!",
        Paid: false,
        Check: 1,
      },
      {
        Region: "East",
        "Revenue Q1": -3,
        "Revenue Q2": 4.75,
        Day: null,
        At: "2026-03-01T00:00:01.000Z",
        Share: 1,
        Total: 1.75,
        Label: "East!",
        Paid: null,
        Check: 2,
      },
    ]);
    const day = dataset.profile.columns.find((column) => column.name === "Day")!;
    expect(day).toMatchObject({ nulls: 1, min: "2026-01-05T00:00:00.000Z", max: "2026-02-28T00:00:00.000Z" });
    const page = await json<{ rows: unknown[] }>(await call(`/api/v1/datasets/${dataset.id}/rows?offset=2`, { token: ada.token }), 200);
    expect(page.rows).toEqual([dataset.sample[2]]);
    expect((await settled(ada, dataset.id)).query).toMatchObject({ status: "ready", rows: 3 });
    expect(await query(ada, dataset.id, `SELECT sum("Total"), sum("Paid"), min("At") FROM dataset`)).toEqual([
      [39.25, 1, "2026-01-05T10:30:00.000Z"],
    ]);
  });

  it("?sheet= picks a sheet by name; a header merged across columns names each; an unknown sheet is 422 naming the sheets", async () => {
    const ada = await person("xl-sheet");
    const projectId = await project(ada);
    const wide: FixtureSheet = {
      name: "Wide",
      rows: [
        [s("Revenue"), null, s("Region")],
        [n(1), n(2), s("North")],
      ],
      merges: ["A1:B1"],
    };
    const file = workbook([report, other, wide]);
    const notes = await json<Dataset>(await send(ada, projectId, file, XLSX, "?sheet=Notes&name=notes"), 201);
    expect(notes.sample).toEqual([
      { note: "first", n: 1 },
      { note: "second", n: 2 },
    ]);
    const merged = await json<Dataset>(await send(ada, projectId, file, XLSX, "?sheet=Wide&name=wide"), 201);
    expect(merged.sample).toEqual([{ Revenue: 1, Revenue_2: 2, Region: "North" }]);
    expect((await settled(ada, merged.id)).query.status).toBe("ready");
    // The first sheet of the same bytes is another dataset; named or not, it is the same one.
    const first = await json<Dataset>(await send(ada, projectId, file, XLSX, "?name=first"), 201);
    expect(first.sample[0]).toMatchObject({ Region: "North" });
    expect((await json<Dataset>(await send(ada, projectId, file, XLSX, "?sheet=Sales%202026&name=first"), 200)).id).toBe(first.id);
    expect((await json<Dataset>(await send(ada, projectId, file, XLSX, "?sheet=Notes&name=notes"), 200)).id).toBe(notes.id);
    const missing = await expectProblem(await send(ada, projectId, file, XLSX, "?sheet=Missing"), 422, "XLSX_SHEET_NOT_FOUND");
    expect(missing.detail).toContain('"Sales 2026", "Notes", "Wide"');
  });

  it("a CSV's .xlsx download uploaded again has the same profile and rows", async () => {
    const ada = await person("xl-trip");
    const projectId = await project(ada);
    const csv = [
      "id,amount,region,paid,day,at,note",
      "1,10.5,North,true,2026-01-01,2026-01-01T10:30:00.000Z,",
      "2,20,South,false,2026-01-02,2026-01-02T11:00:00.000Z,<b>&amp;</b>",
      "3,,North,true,2026-01-03,,=SUM(A1:A3)",
      '4,40.25,Zürich ☃,,2026-01-04,2026-01-04T00:00:01.000Z,"a, b"',
      "-5,-0.5,,false,,2026-02-28T23:59:59.999Z,x",
    ].join("\n");
    const original = await json<Dataset>(await send(ada, projectId, csv, "text/csv", "?name=sales"), 201);
    const download = await call(`/api/v1/datasets/${original.id}/download?format=xlsx`, { token: ada.token });
    expect(download.status).toBe(200);
    expect(download.headers.get("Content-Type")).toBe(XLSX);
    expect(download.headers.get("Content-Disposition")).toBe('attachment; filename="sales.xlsx"');
    const again = await json<Dataset>(await send(ada, projectId, await download.arrayBuffer(), XLSX, "?name=sales-again"), 201);
    expect(again.format).toBe("xlsx");
    expect(again.profile).toEqual(original.profile);
    expect(again.sample[2]).toEqual({ id: 3, amount: null, region: "North", paid: true, day: "2026-01-03", at: null, note: "=SUM(A1:A3)" });
    expect((await settled(ada, original.id)).query.status).toBe("ready");
    expect((await settled(ada, again.id)).query.status).toBe("ready");
    const all = "SELECT * FROM dataset ORDER BY rowid";
    expect(await query(ada, again.id, all)).toEqual(await query(ada, original.id, all));
  });
});

describe("bad Excel input", () => {
  it("a zip bomb is 422 XLSX_TOO_LARGE, whether its directory declares the size or lies about it; nothing is kept", async () => {
    const ada = await person("xl-bomb");
    const projectId = await project(ada);
    // 8 MiB of sheet XML (a long run of padding) deflates to a few kilobytes.
    const padding = `<!--${" ".repeat(8 * 1024 * 1024)}-->`;
    const honest = workbook(
      [other],
      {
        "xl/worksheets/sheet1.xml": `<?xml version="1.0"?>${padding}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>`,
      },
      9,
    );
    expect(honest.length).toBeLessThan(64 * 1024);
    const limit = { MAX_XLSX_INFLATED_BYTES: String(1024 * 1024) };
    await expectProblem(await sendWith(ada, projectId, honest, XLSX, limit), 422, "XLSX_TOO_LARGE");
    // The same bomb with its central directory claiming 100 bytes: caught while it inflates.
    const liar = honest.slice();
    const view = new DataView(liar.buffer);
    for (let at = liar.length - 22; at >= 0; at--) {
      if (view.getUint32(at, true) !== 0x02014b50) continue;
      const name = new TextDecoder().decode(liar.subarray(at + 46, at + 46 + view.getUint16(at + 28, true)));
      if (name === "xl/worksheets/sheet1.xml") view.setUint32(at + 24, 100, true);
    }
    await expectProblem(await sendWith(ada, projectId, liar, XLSX, limit), 422, "XLSX_TOO_LARGE");
    expect(await stored(projectId)).toEqual([]);
    expect(await datasetsOf(ada, projectId)).toEqual([]);
  });

  it("more rows than MAX_ROWS is 422 TOO_MANY_ROWS; a truncated or damaged workbook 422 XLSX_MALFORMED; other bytes 422 FORMAT_MISMATCH", async () => {
    const ada = await person("xl-bad");
    const projectId = await project(ada);
    const many: FixtureSheet = { name: "Many", rows: [[s("i")], ...Array.from({ length: 150 }, (_, i) => [n(i)])] };
    await expectProblem(await sendWith(ada, projectId, workbook([many]), XLSX, { MAX_ROWS: "100" }), 422, "TOO_MANY_ROWS");
    const file = workbook([report]);
    await expectProblem(await send(ada, projectId, file.subarray(0, file.length - 200), XLSX), 422, "XLSX_MALFORMED");
    const broken = workbook([report], {
      "xl/worksheets/sheet1.xml": "<worksheet><sheetData><row><c><v>1</v></row></sheetData></worksheet>",
    });
    await expectProblem(await send(ada, projectId, broken, XLSX), 422, "XLSX_MALFORMED");
    await expectProblem(await send(ada, projectId, "id,name\n1,a\n", XLSX), 422, "FORMAT_MISMATCH");
    const legacy = await expectProblem(
      await send(ada, projectId, new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), XLSX),
      422,
      "FORMAT_MISMATCH",
    );
    expect(legacy.detail).toContain(".xls");
    expect(await stored(projectId)).toEqual([]);
    expect(await datasetsOf(ada, projectId)).toEqual([]);
  });
});

describe("Excel datasets and tenancy", () => {
  it("another tenant gets 404 on an .xlsx download; a viewer cannot upload a workbook (403) but can download one", async () => {
    const [owner, viewer, stranger] = [await person("xl-o"), await person("xl-v"), await person("xl-s")];
    const slug = await team(owner);
    await addMember(owner, slug, viewer, "viewer");
    const projectId = await project(owner, slug);
    const dataset = await json<Dataset>(await send(owner, projectId, workbook([other]), XLSX), 201);
    await expectProblem(await send(viewer, projectId, workbook([other]), XLSX), 403, "FORBIDDEN");
    await expectProblem(await call(`/api/v1/datasets/${dataset.id}/download?format=xlsx`, { token: stranger.token }), 404, "NOT_FOUND");
    const download = await call(`/api/v1/datasets/${dataset.id}/download?format=xlsx`, { token: viewer.token });
    expect(download.status).toBe(200);
    const parts = unzipSync(new Uint8Array(await download.arrayBuffer()));
    expect(Object.keys(parts).sort()).toEqual([
      "[Content_Types].xml",
      "_rels/.rels",
      "xl/_rels/workbook.xml.rels",
      "xl/styles.xml",
      "xl/workbook.xml",
      "xl/worksheets/sheet1.xml",
    ]);
    expect(new TextDecoder().decode(parts["xl/worksheets/sheet1.xml"])).toContain(
      '<c r="A3" t="inlineStr"><is><t xml:space="preserve">second</t></is></c><c r="B3"><v>2</v></c>',
    );
  });
});
