// An .xlsx workbook read from a stored object: its zip directory by range reads, then one sheet's XML inflated and parsed (saxes)
// as it streams, a batch of rows per chunk. Shared strings (bounded: MAX_SHARED_STRINGS_BYTES), styles and merged ranges are
// held; rows never are.
import { SaxesParser, type SaxesTagPlain } from "saxes";
import { ApiError } from "../../../lib/problem.ts";
import type { Cell } from "../profile/types.ts";
import type { RangeSource } from "./range-source.ts";
import { isDateFormat, serialText } from "./xlsx-dates.ts";
import { entryChunks, InflateBudget, type ZipEntry, zipEntries } from "./zip.ts";

export interface XlsxOptions {
  /** The sheet's name; the workbook's first sheet when absent. */
  sheet?: string;
  maxRows: number;
  maxColumns: number;
  /** Inflated bytes allowed across the parts read (the sheet counted once: its second pass has a budget of its own). */
  maxInflatedBytes: number;
}

export interface XlsxFile {
  sheet: string;
  sheets: string[];
  /** Filled in once the header rows are read (before the first batch), growing if a later row is wider. */
  columns: string[];
  /** The data rows, a batch per inflated chunk, as cells in the order of `columns`. */
  batches(): AsyncGenerator<Cell[][]>;
}

interface Range {
  r1: number;
  c1: number;
  r2: number;
  c2: number;
}

/** At most this many rows of a header told by vertically merged cells. */
const MAX_HEADER_ROWS = 4;
const EXCEL_COLUMNS = 16_384;

const malformed = (detail: string) =>
  new ApiError(422, { code: "XLSX_MALFORMED", detail: `The file is not a readable .xlsx workbook: ${detail}.` });
const sharedStringsTooLarge = () =>
  new ApiError(422, {
    code: "XLSX_TOO_LARGE",
    detail: `The workbook's shared strings (the text its cells name) hold more than ${MAX_SHARED_STRINGS_BYTES} bytes, the limit; save it with fewer distinct texts or as CSV.`,
  });
const localName = (name: string) => name.slice(name.indexOf(":") + 1);

/** "AB12" as 0-based column 27 and row 12 (1-based, as the sheet numbers rows); NaN parts when absent. */
function cellRef(ref: string): { column: number; row: number } {
  let column = 0;
  let i = 0;
  for (; i < ref.length; i++) {
    const code = ref.charCodeAt(i) & ~0x20;
    if (code < 65 || code > 90) break;
    column = column * 26 + (code - 64);
  }
  return { column: i === 0 ? Number.NaN : column - 1, row: i < ref.length ? Number(ref.slice(i)) : Number.NaN };
}

function rangeOf(ref: string): Range | null {
  const [from, to = from] = ref.split(":");
  const a = cellRef(from ?? "");
  const b = cellRef(to ?? "");
  if ([a.column, a.row, b.column, b.row].some(Number.isNaN)) return null;
  return { r1: Math.min(a.row, b.row), c1: Math.min(a.column, b.column), r2: Math.max(a.row, b.row), c2: Math.max(a.column, b.column) };
}

/** A SAX parser over an entry as it inflates, fed a chunk at a time; parse errors are the file's. */
async function* parsedChunks(source: RangeSource, entry: ZipEntry, budget: InflateBudget, wire: (parser: SaxesParser) => void) {
  const parser = new SaxesParser({ position: false });
  wire(parser);
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const feed = (chunk?: Uint8Array) => {
    let text: string;
    try {
      text = chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch {
      throw malformed(`${entry.name} is not UTF-8 XML`);
    }
    try {
      parser.write(text);
      if (!chunk) parser.close();
    } catch (error) {
      if (error instanceof ApiError) throw error; // a limit, or a cell the reader refused
      throw malformed(`${entry.name} is not well-formed XML (${error instanceof Error ? error.message.slice(0, 120) : "unreadable"})`);
    }
  };
  for await (const chunk of entryChunks(source, entry, budget)) {
    feed(chunk);
    yield;
  }
  feed();
}

/** A whole (small) part through a SAX parser. */
async function parseEntry(source: RangeSource, entry: ZipEntry, budget: InflateBudget, wire: (parser: SaxesParser) => void) {
  for await (const _ of parsedChunks(source, entry, budget, wire));
}

const required = (entries: Map<string, ZipEntry>, name: string) => {
  const entry = entries.get(name);
  if (!entry) throw malformed(`it has no ${name}`);
  return entry;
};

/** The workbook's sheets in order (name and part), and its date system. */
async function readWorkbook(source: RangeSource, entries: Map<string, ZipEntry>, budget: InflateBudget) {
  const sheets: { name: string; id: string }[] = [];
  let date1904 = false;
  await parseEntry(source, required(entries, "xl/workbook.xml"), budget, (parser) =>
    parser.on("opentag", (tag: SaxesTagPlain) => {
      const name = localName(tag.name);
      if (name === "workbookPr") date1904 = ["1", "true"].includes(tag.attributes.date1904 ?? "");
      if (name === "sheet") {
        const id = Object.entries(tag.attributes).find(([key]) => localName(key) === "id" && key !== "sheetId")?.[1];
        if (tag.attributes.name && id) sheets.push({ name: tag.attributes.name, id });
      }
    }),
  );
  const targets = new Map<string, string>();
  await parseEntry(source, required(entries, "xl/_rels/workbook.xml.rels"), budget, (parser) =>
    parser.on("opentag", (tag: SaxesTagPlain) => {
      if (localName(tag.name) !== "Relationship" || !tag.attributes.Id || !tag.attributes.Target) return;
      const target = tag.attributes.Target;
      targets.set(tag.attributes.Id, target.startsWith("/") ? target.slice(1) : `xl/${target}`.replace(/[^/]+\/\.\.\//g, ""));
    }),
  );
  return { sheets: sheets.map((sheet) => ({ name: sheet.name, part: targets.get(sheet.id) })), date1904 };
}

/** Per cell style (the index a cell's `s` names), whether its number format shows a date. */
async function readDateStyles(source: RangeSource, entries: Map<string, ZipEntry>, budget: InflateBudget): Promise<boolean[]> {
  const entry = entries.get("xl/styles.xml");
  if (!entry) return [];
  const codes = new Map<number, string>();
  const formats: number[] = [];
  let inCellXfs = false;
  await parseEntry(source, entry, budget, (parser) => {
    parser.on("opentag", (tag: SaxesTagPlain) => {
      const name = localName(tag.name);
      if (name === "numFmt") codes.set(Number(tag.attributes.numFmtId), tag.attributes.formatCode ?? "");
      else if (name === "cellXfs") inCellXfs = !tag.isSelfClosing;
      else if (name === "xf" && inCellXfs) formats.push(Number(tag.attributes.numFmtId ?? 0));
    });
    parser.on("closetag", (tag: SaxesTagPlain) => {
      if (localName(tag.name) === "cellXfs") inCellXfs = false;
    });
  });
  return formats.map((id) => isDateFormat(id, codes.get(id)));
}

/**
 * The shared strings are held while the sheet is read (a cell names one by index, anywhere in the sheet): at most this much, as
 * estimated (characters, and 32 bytes a string for what the runtime keeps beside it), so a table of millions does not fill the heap.
 */
export const MAX_SHARED_STRINGS_BYTES = 16 * 1024 * 1024;
const STRING_OVERHEAD = 32;

/** The shared strings (rich text runs joined; phonetic guides left out), refused past MAX_SHARED_STRINGS_BYTES. */
async function readSharedStrings(source: RangeSource, entries: Map<string, ZipEntry>, budget: InflateBudget): Promise<string[]> {
  const entry = entries.get("xl/sharedStrings.xml");
  if (!entry) return [];
  const strings: string[] = [];
  let held = 0;
  let current: string | null = null;
  let inText = false;
  let phonetic = 0;
  await parseEntry(source, entry, budget, (parser) => {
    parser.on("opentag", (tag: SaxesTagPlain) => {
      const name = localName(tag.name);
      if (name === "si") current = "";
      else if (name === "rPh") phonetic++;
      else if (name === "t" && phonetic === 0) inText = !tag.isSelfClosing;
    });
    parser.on("text", (text) => {
      if (!inText || current === null) return;
      current += text;
      if (held + current.length > MAX_SHARED_STRINGS_BYTES) throw sharedStringsTooLarge();
    });
    parser.on("closetag", (tag: SaxesTagPlain) => {
      const name = localName(tag.name);
      if (name === "t") inText = false;
      else if (name === "rPh") phonetic--;
      else if (name === "si" && current !== null) {
        held += current.length + STRING_OVERHEAD;
        if (held > MAX_SHARED_STRINGS_BYTES) throw sharedStringsTooLarge();
        strings.push(current);
        current = null;
      }
    });
  });
  return strings;
}

/** Merged ranges a sheet may declare: each is held (and checked on every row), so a sheet of millions is refused. */
export const MAX_MERGES = 100_000;
/** The end of the rows: `</sheetData>` (any prefix) or an empty `<sheetData/>`. */
const SHEET_DATA_END = /<\/(?:[\w.-]+:)?sheetData\s*>|<(?:[\w.-]+:)?sheetData\s*\/>/;
const MERGE_CELL = /<(?:[\w.-]+:)?mergeCell\s[^>]*?\bref="([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)"[^>]*>/g;
/** Text carried from one chunk to the next while looking for the end of the rows: longer than `</x:sheetData >`. */
const END_CARRY = 64;
/** Longest tag carried between chunks after the rows (a <mergeCell> is a few dozen characters). */
const MAX_TAG_CHARS = 64 * 1024;

/**
 * The first pass over the sheet: its merged cells (written after the rows, so needed before the header can be named). The rows
 * are inflated (and counted against the budget) but not read; after </sheetData>, each chunk is scanned for <mergeCell> as it
 * comes, carrying only an unfinished tag into the next, so this pass holds a chunk and the ranges, never the sheet.
 */
async function readMerges(source: RangeSource, entry: ZipEntry, budget: InflateBudget): Promise<Range[]> {
  const latin1 = new TextDecoder("windows-1252");
  const merges: Range[] = [];
  let carry = "";
  let afterRows = false;
  for await (const chunk of entryChunks(source, entry, budget)) {
    let text = carry + latin1.decode(chunk);
    if (!afterRows) {
      const end = SHEET_DATA_END.exec(text);
      if (!end) {
        carry = text.slice(-END_CARRY);
        continue;
      }
      afterRows = true;
      text = text.slice(end.index + end[0].length);
    }
    // Scan the complete tags; an unfinished one (from its last "<") waits for the next chunk.
    const open = text.lastIndexOf("<");
    const complete = open >= 0 && text.indexOf(">", open) < 0 ? text.slice(0, open) : text;
    carry = text.slice(complete.length);
    if (carry.length > MAX_TAG_CHARS) throw malformed("a tag after the rows does not end");
    scanMerges(complete, merges);
  }
  if (afterRows) scanMerges(carry, merges);
  return merges.sort((a, b) => a.r1 - b.r1);
}

function scanMerges(text: string, merges: Range[]) {
  for (const match of text.matchAll(MERGE_CELL)) {
    const range = rangeOf(match[1]!);
    if (!range) continue;
    if (merges.length >= MAX_MERGES)
      throw new ApiError(422, {
        code: "XLSX_TOO_LARGE",
        detail: `The sheet has more than ${MAX_MERGES} merged ranges, the limit.`,
      });
    merges.push(range);
  }
}

/** Header names from the header rows: each column's distinct parts joined ("Revenue Q1"), else column_N; repeats get _2, _3… */
function headerNames(rows: Cell[][], width: number): string[] {
  const taken = new Set<string>();
  return Array.from({ length: width }, (_, c) => {
    const parts: string[] = [];
    for (const row of rows) {
      const value = row[c];
      const text = value === null || value === undefined ? "" : String(value).trim();
      if (text && parts.at(-1) !== text) parts.push(text);
    }
    const base = parts.join(" ") || `column_${c + 1}`;
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    taken.add(name);
    return name;
  });
}

/** Opens the workbook and picks the sheet; refuses a missing sheet or a file past the inflate budget before any row is profiled. */
export async function openXlsx(source: RangeSource, options: XlsxOptions): Promise<XlsxFile> {
  const budget = new InflateBudget(options.maxInflatedBytes);
  const entries = await zipEntries(source);
  const { sheets, date1904 } = await readWorkbook(source, entries, budget);
  if (sheets.length === 0) throw malformed("it has no sheets");
  const chosen = options.sheet === undefined ? sheets[0]! : sheets.find((sheet) => sheet.name === options.sheet);
  if (!chosen)
    throw new ApiError(422, {
      code: "XLSX_SHEET_NOT_FOUND",
      detail: `The workbook has no sheet named ${JSON.stringify(options.sheet)}; its sheets are ${sheets.map((sheet) => JSON.stringify(sheet.name)).join(", ")}.`,
    });
  const found = chosen.part ? entries.get(chosen.part) : undefined;
  if (!found) throw malformed(`the part of sheet ${JSON.stringify(chosen.name)} is missing`);
  const entry: ZipEntry = found;
  const sheetName = chosen.name;
  // Declared sizes first: a bomb that says what it is goes without inflating a byte.
  const declared = [...entries.values()].reduce((sum, part) => sum + part.size, 0);
  if (declared > options.maxInflatedBytes) budget.take(declared);
  const dateStyles = await readDateStyles(source, entries, budget);
  const strings = await readSharedStrings(source, entries, budget);
  const merges = await readMerges(source, entry, budget);
  const columns: string[] = [];

  async function* batches(): AsyncGenerator<Cell[][]> {
    let batch: Cell[][] = [];
    let header: Cell[][] | null = null;
    let headerRows = 0;
    let dataRows = 0;
    // The row being read, and the cell.
    let rowNumber = 0;
    let row: Cell[] = [];
    let column = -1;
    let type = "n";
    let style = 0;
    let value: string | null = null;
    let capture = false;
    let inInline = false;
    let active: Range[] = [];
    let nextMerge = 0;
    const mergedValues = new Map<Range, Cell>();

    const cellValue = (): Cell => {
      if (value === null) return null;
      switch (type) {
        case "s": {
          const text = strings[Number(value)];
          if (text === undefined) throw malformed(`a cell names shared string ${value}, which is not there`);
          return text;
        }
        case "inlineStr":
        case "str":
          return value;
        case "b":
          return value === "1" || value === "true";
        case "e":
          return null; // #DIV/0!, #N/A…: no value
        case "d":
          return value; // ISO 8601 already
        default: {
          const number = Number(value);
          if (value.trim() === "" || !Number.isFinite(number)) return null;
          return dateStyles[style] ? serialText(number, date1904) : number;
        }
      }
    };

    const endRow = () => {
      // Merged cells: the top-left value fills the range (a merged header names every column under it).
      while (nextMerge < merges.length && merges[nextMerge]!.r1 <= rowNumber) active.push(merges[nextMerge++]!);
      active = active.filter((range) => range.r2 >= rowNumber);
      for (const range of active) {
        if (range.r1 === rowNumber) mergedValues.set(range, row[range.c1] ?? null);
        const fill = mergedValues.get(range) ?? null;
        if (fill === null) continue;
        for (let c = range.c1; c <= Math.min(range.c2, EXCEL_COLUMNS - 1); c++) if (c !== range.c1 || range.r1 !== rowNumber) row[c] = fill;
      }
      if (!row.some((cell) => cell !== null && cell !== undefined)) return; // a blank row, as a blank line in a CSV
      if (header === null) {
        header = [];
        // The header is as deep as the merges that start on its first row reach down.
        const depth = merges
          .filter((range) => range.r1 === rowNumber)
          .reduce((deepest, range) => Math.max(deepest, range.r2 - range.r1 + 1), 1);
        headerRows = Math.min(depth, MAX_HEADER_ROWS);
      }
      if (header.length < headerRows) {
        header.push(row);
        if (header.length === headerRows) {
          const width = Math.max(...header.map((cells) => cells.length));
          if (width > options.maxColumns)
            throw new ApiError(422, {
              code: "TOO_MANY_COLUMNS",
              detail: `The sheet has ${width} columns; the limit is ${options.maxColumns}.`,
            });
          columns.push(...headerNames(header, width));
        }
        return;
      }
      if (++dataRows > options.maxRows)
        throw new ApiError(422, { code: "TOO_MANY_ROWS", detail: `The sheet has more than ${options.maxRows} rows, the limit.` });
      if (row.length > columns.length) {
        if (row.length > options.maxColumns)
          throw new ApiError(422, {
            code: "TOO_MANY_COLUMNS",
            detail: `The sheet has ${row.length} columns; the limit is ${options.maxColumns}.`,
          });
        for (let c = columns.length; c < row.length; c++) columns.push(`column_${c + 1}`);
      }
      for (let c = 0; c < row.length; c++) if (row[c] === undefined) row[c] = null;
      batch.push(row);
    };

    const wire = (parser: SaxesParser) => {
      parser.on("opentag", (tag: SaxesTagPlain) => {
        switch (localName(tag.name)) {
          case "row": {
            const number = Number(tag.attributes.r);
            rowNumber = Number.isInteger(number) && number > rowNumber ? number : rowNumber + 1;
            row = [];
            column = -1;
            if (tag.isSelfClosing) endRow();
            break;
          }
          case "c": {
            const at = tag.attributes.r ? cellRef(tag.attributes.r).column : Number.NaN;
            column = Number.isNaN(at) ? column + 1 : at;
            if (column >= EXCEL_COLUMNS) throw malformed(`a cell is past column ${EXCEL_COLUMNS}`);
            type = tag.attributes.t ?? "n";
            style = Number(tag.attributes.s ?? 0);
            value = null;
            break;
          }
          case "v":
            capture = !inInline;
            if (capture) value = "";
            break;
          case "is":
            inInline = true;
            value = "";
            break;
          case "t":
            capture = inInline;
            break;
        }
      });
      parser.on("text", (text) => {
        if (capture) value += text;
      });
      parser.on("closetag", (tag: SaxesTagPlain) => {
        switch (localName(tag.name)) {
          case "v":
          case "t":
            capture = false;
            break;
          case "is":
            inInline = false;
            break;
          case "c":
            if (column >= 0) {
              const cell = cellValue();
              if (cell !== null) {
                for (let c = row.length; c < column; c++) row[c] = null;
                row[column] = cell;
              }
            }
            break;
          case "row":
            endRow();
            break;
        }
      });
    };

    // A batch per inflated chunk, handed on before the next chunk is read.
    // The first pass counted the sheet already: this one cannot inflate more than that, within its own budget.
    for await (const _ of parsedChunks(source, entry, new InflateBudget(options.maxInflatedBytes), wire)) {
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
    if (header === null) throw new ApiError(422, { code: "EMPTY_FILE", detail: `The sheet ${JSON.stringify(sheetName)} is empty.` });
  }

  return { sheet: chosen.name, sheets: sheets.map((sheet) => sheet.name), columns, batches };
}
