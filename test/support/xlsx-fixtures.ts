// Workbooks for the tests, written part by part as Excel writes them (shared strings, styles with date formats, formulas with
// cached values, merged cells) and zipped by fflate: what the reader must handle, without a spreadsheet program on the machine.
import { strToU8, zipSync } from "fflate";

const MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/** A cell: a shared string, a number (with a style), a formula with its cached value, a boolean, an error, or nothing. */
export type FixtureCell =
  | { s: string }
  | { n: number; style?: number }
  | { f: string; v: number | string }
  | { b: boolean }
  | { e: string }
  | null;

export interface FixtureSheet {
  name: string;
  rows: FixtureCell[][];
  merges?: string[];
}

const esc = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const col = (i: number) => {
  let name = "";
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
};

/** Styles: 0 General, 1 the built-in date (14), 2 a custom "dd/mm/yyyy hh:mm", 3 a percentage (not a date). */
const STYLES = `<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="${MAIN}"><numFmts count="1"><numFmt numFmtId="170" formatCode="dd/mm/yyyy\\ hh:mm"/></numFmts><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs><cellXfs count="4"><xf numFmtId="0" xfId="0"/><xf numFmtId="14" xfId="0" applyNumberFormat="1"/><xf numFmtId="170" xfId="0" applyNumberFormat="1"/><xf numFmtId="10" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>`;

/** The workbook's bytes; `extra` adds or replaces parts (for damaged files). */
export function workbook(sheets: FixtureSheet[], extra: Record<string, string | Uint8Array> = {}, level: 0 | 6 | 9 = 6): Uint8Array {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const shared = (text: string) => {
    if (!index.has(text)) index.set(text, strings.push(text) - 1);
    return index.get(text)!;
  };
  const parts: Record<string, Uint8Array> = {};
  sheets.forEach((sheet, n) => {
    const rows = sheet.rows
      .map((cells, r) => {
        const xml = cells
          .map((cell, c) => {
            const ref = `${col(c)}${r + 1}`;
            if (cell === null) return "";
            if ("s" in cell) return `<c r="${ref}" t="s"><v>${shared(cell.s)}</v></c>`;
            if ("n" in cell) return `<c r="${ref}"${cell.style ? ` s="${cell.style}"` : ""}><v>${cell.n}</v></c>`;
            if ("f" in cell)
              return typeof cell.v === "number"
                ? `<c r="${ref}"><f>${esc(cell.f)}</f><v>${cell.v}</v></c>`
                : `<c r="${ref}" t="str"><f>${esc(cell.f)}</f><v>${esc(cell.v)}</v></c>`;
            if ("b" in cell) return `<c r="${ref}" t="b"><v>${cell.b ? 1 : 0}</v></c>`;
            return `<c r="${ref}" t="e"><v>${esc(cell.e)}</v></c>`;
          })
          .join("");
        return `<row r="${r + 1}">${xml}</row>`;
      })
      .join("");
    const merges = sheet.merges?.length
      ? `<mergeCells count="${sheet.merges.length}">${sheet.merges.map((ref) => `<mergeCell ref="${ref}"/>`).join("")}</mergeCells>`
      : "";
    parts[`xl/worksheets/sheet${n + 1}.xml`] = strToU8(
      `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="${MAIN}" xmlns:r="${RELS}"><dimension ref="A1"/><sheetData>${rows}</sheetData>${merges}<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`,
    );
  });
  parts["xl/sharedStrings.xml"] = strToU8(
    `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="${MAIN}" count="${strings.length}" uniqueCount="${strings.length}">${strings.map((text) => `<si><t xml:space="preserve">${esc(text)}</t></si>`).join("")}</sst>`,
  );
  parts["xl/styles.xml"] = strToU8(STYLES);
  parts["xl/workbook.xml"] = strToU8(
    `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="${MAIN}" xmlns:r="${RELS}"><workbookPr/><sheets>${sheets.map((sheet, n) => `<sheet name="${esc(sheet.name)}" sheetId="${n + 1}" r:id="rId${n + 1}"/>`).join("")}</sheets></workbook>`,
  );
  parts["xl/_rels/workbook.xml.rels"] = strToU8(
    `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets.map((_, n) => `<Relationship Id="rId${n + 1}" Type="${RELS}/worksheet" Target="worksheets/sheet${n + 1}.xml"/>`).join("")}<Relationship Id="rIdS" Type="${RELS}/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rIdT" Type="${RELS}/styles" Target="styles.xml"/></Relationships>`,
  );
  parts["_rels/.rels"] = strToU8(
    `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
  );
  parts["[Content_Types].xml"] = strToU8(
    `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>`,
  );
  for (const [name, content] of Object.entries(extra)) parts[name] = typeof content === "string" ? strToU8(content) : content;
  return zipSync(parts, { level });
}

/** Excel's serial day number of a UTC instant (the 1900 system). */
export const serial = (iso: string) => Date.parse(iso) / 86_400_000 + 25_569;
