// An .xlsx workbook written as it is read (fflate's streaming zip): one sheet's XML deflated as rows arrive, strings inline (no
// shared-string table to hold), so memory holds a chunk, never the workbook. The workbook and content types, which name every sheet,
// are written last.
import { Zip, ZipDeflate } from "fflate";
import { serialOf } from "./xlsx-dates.ts";

/** A value as a cell: numbers (and integers past 2^53, as their digits), booleans, text, instants (as dates), or nothing. */
export type XlsxValue = string | number | bigint | boolean | Date | null | undefined;

/** Excel's own limits: rows per sheet (the header counting) and characters per cell. */
export const XLSX_MAX_ROWS = 1_048_576;
export const XLSX_MAX_COLUMNS = 16_384;
const MAX_CELL_CHARS = 32_767;
/** XML text is deflated once this much is held. */
const FLUSH_CHARS = 256 * 1024;
const DAY_MS = 86_400_000;

const MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
/** Style 1 shows a date, style 2 a date and time (cellXfs below). */
const STYLES = `${HEAD}<styleSheet xmlns="${MAIN}"><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`;

const encoder = new TextEncoder();
/** Characters XML 1.0 cannot hold (controls but tab and line breaks, lone surrogates, U+FFFE/F) are dropped. */
const INVALID_XML =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const escapeXml = (text: string) =>
  text
    .replace(INVALID_XML, "")
    .replace(/[&<>"]/g, (char) => (char === "&" ? "&amp;" : char === "<" ? "&lt;" : char === ">" ? "&gt;" : "&quot;"));

const letters: string[] = [];
/** 0 → "A", 27 → "AB". */
export function columnLetters(index: number): string {
  if (letters[index] !== undefined) return letters[index]!;
  let name = "";
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  letters[index] = name;
  return name;
}

/** A name Excel takes for a sheet: at most 31 characters, none of []:*?/\ . */
export const sheetName = (name: string, fallback = "Sheet1") =>
  Array.from(name.replace(/[[\]:*?/\\]+/g, " ").trim())
    .slice(0, 31)
    .join("")
    .replace(/^'+|'+$/g, "") || fallback;

function cellXml(ref: string, value: XlsxValue, style?: number): string {
  if (value === null || value === undefined) return "";
  const s = style ? ` s="${style}"` : "";
  if (typeof value === "number") return Number.isFinite(value) ? `<c r="${ref}"${s}><v>${value}</v></c>` : "";
  if (typeof value === "bigint") return `<c r="${ref}"${s}><v>${value}</v></c>`;
  if (typeof value === "boolean") return `<c r="${ref}" t="b"${s}><v>${value ? 1 : 0}</v></c>`;
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) return "";
    return `<c r="${ref}" s="${ms % DAY_MS === 0 ? 1 : 2}"><v>${serialOf(ms)}</v></c>`;
  }
  const text = value.length > MAX_CELL_CHARS ? value.slice(0, MAX_CELL_CHARS) : value;
  return `<c r="${ref}" t="inlineStr"${s}><is><t xml:space="preserve">${escapeXml(text)}</t></is></c>`;
}

/**
 * Sheets one after another: startSheet, rows, then the next startSheet or finish. take() hands over the bytes written so far
 * (call it after each batch of rows).
 */
export class XlsxWriter {
  private chunks: Uint8Array[] = [];
  private readonly zip = new Zip((error, chunk) => {
    if (error) throw error;
    if (chunk.length > 0) this.chunks.push(chunk);
  });
  private readonly sheets: string[] = [];
  private sheet: ZipDeflate | null = null;
  private xml = "";
  private rowNumber = 0;

  /** A sheet named `name` (made unique and valid) with a bold header row of `header`. */
  startSheet(name: string, header: readonly string[]) {
    this.endSheet();
    let unique = sheetName(name, `Sheet${this.sheets.length + 1}`);
    for (let n = 2; this.sheets.includes(unique); n++) unique = `${sheetName(name).slice(0, 28)} ${n}`;
    this.sheets.push(unique);
    this.sheet = new ZipDeflate(`xl/worksheets/sheet${this.sheets.length}.xml`, { level: 1 });
    this.zip.add(this.sheet);
    this.rowNumber = 0;
    this.xml = `${HEAD}<worksheet xmlns="${MAIN}" xmlns:r="${RELS}"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>`;
    this.row(header, 3);
  }

  /** One row; cells past the header's width are written too. */
  row(cells: readonly XlsxValue[], style?: number) {
    const r = ++this.rowNumber;
    let xml = `<row r="${r}">`;
    for (let i = 0; i < cells.length; i++) xml += cellXml(`${columnLetters(i)}${r}`, cells[i], style);
    this.xml += `${xml}</row>`;
    if (this.xml.length >= FLUSH_CHARS) this.flush(false);
  }

  private flush(final: boolean) {
    this.sheet!.push(encoder.encode(this.xml), final);
    this.xml = "";
  }

  private endSheet() {
    if (!this.sheet) return;
    this.xml += "</sheetData></worksheet>";
    this.flush(true);
    this.sheet = null;
  }

  private part(name: string, xml: string) {
    const file = new ZipDeflate(name, { level: 6 });
    this.zip.add(file);
    file.push(encoder.encode(xml), true);
  }

  /** The workbook parts that name the sheets, and the zip's directory. */
  finish() {
    this.endSheet();
    const sheets = this.sheets;
    const overrides = sheets
      .map(
        (_, i) =>
          `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`,
      )
      .join("");
    this.part(
      "[Content_Types].xml",
      `${HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>${overrides}</Types>`,
    );
    this.part(
      "_rels/.rels",
      `${HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    );
    this.part(
      "xl/workbook.xml",
      `${HEAD}<workbook xmlns="${MAIN}" xmlns:r="${RELS}"><sheets>${sheets.map((name, i) => `<sheet name="${escapeXml(name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join("")}</sheets></workbook>`,
    );
    this.part(
      "xl/_rels/workbook.xml.rels",
      `${HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Type="${RELS}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join("")}<Relationship Id="rId${sheets.length + 1}" Type="${RELS}/styles" Target="styles.xml"/></Relationships>`,
    );
    this.part("xl/styles.xml", STYLES);
    this.zip.end();
  }

  /** The bytes written since the last take. */
  take(): Uint8Array[] {
    const taken = this.chunks;
    this.chunks = [];
    return taken;
  }
}
