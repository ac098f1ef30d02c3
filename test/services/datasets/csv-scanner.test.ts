// The byte-level CSV scanner against tables it must give back, papaparse (which reads the stored file for previews), and bad input.
import fc from "fast-check";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { CsvScanner, ESCAPED, unescapeCell } from "../../../src/services/datasets/csv-scanner.ts";
import { ApiError } from "../../../src/lib/problem.ts";

const decoder = new TextDecoder();

/** Scans `bytes` cut into chunks at `cuts`; returns each record's cells as text. */
function scan(bytes: Uint8Array, cuts: number[] = [], lineBreak = 10, delimiter = ","): string[][] {
  const scanner = new CsvScanner(delimiter.charCodeAt(0), lineBreak, 1_000, 1 << 20);
  const records: string[][] = [];
  const sink = (buffer: Uint8Array, cells: Int32Array, count: number) => {
    records.push(
      Array.from({ length: count }, (_, i) => {
        const [start, end] = [cells[3 * i]!, cells[3 * i + 1]!];
        if (cells[3 * i + 2] !== ESCAPED) return decoder.decode(buffer.subarray(start, end));
        const [out, length] = unescapeCell(buffer, start, end, new Uint8Array(0));
        return decoder.decode(out.subarray(0, length));
      }),
    );
  };
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    scanner.push(bytes.subarray(from, cut), sink);
    from = cut;
  }
  scanner.push(bytes.subarray(from), sink);
  scanner.end(sink);
  return records;
}

const quote = (cell: string, always: boolean) => (always || /[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell);
const cellText = fc.string({ unit: fc.constantFrom("a", "b", "1", ".", " ", ",", '"', "\n", "\r\n", "é", "😀", "-"), maxLength: 8 });

describe("CsvScanner", () => {
  it("gives back any table, however the bytes are cut, and agrees with papaparse", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 5 })
          .chain((width) => fc.array(fc.array(cellText, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 8 })),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        (table, crlf, trailingBreak, quoteAll, cuts) => {
          // A record of one empty cell is a blank line, which both skip.
          const rows = table.filter((row) => row.length > 1 || row[0] !== "");
          const lineBreak = crlf ? "\r\n" : "\n";
          const text =
            rows.map((row) => row.map((cell) => quote(cell, quoteAll)).join(",")).join(lineBreak) +
            (trailingBreak && rows.length > 0 ? lineBreak : "");
          const bytes = new TextEncoder().encode(text);
          const scanned = scan(
            bytes,
            cuts.map((cut) => cut % (bytes.length + 1)),
          );
          expect(scanned).toEqual(rows);
          const papa = Papa.parse<string[]>(text, { delimiter: ",", newline: lineBreak, skipEmptyLines: true }).data;
          expect(scanned).toEqual(papa);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("reads files whose lines end with CR alone, and other delimiters", () => {
    expect(scan(new TextEncoder().encode('a;b\r1;"x\r\ny"\r2;3'), [3], 13, ";")).toEqual([
      ["a", "b"],
      ["1", "x\r\ny"],
      ["2", "3"],
    ]);
  });

  it("names the row of a quote that never closes", () => {
    expect(() => scan(new TextEncoder().encode('a,b\n1,2\n3,"open\n4,5\n'))).toThrow(/quote opened in row 3 is never closed/);
  });

  it("names the row and column where text follows a closing quote", () => {
    const error = (() => {
      try {
        scan(new TextEncoder().encode('a,b\n1,"x"y\n'));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("CSV_MALFORMED");
    expect((error as ApiError).detail).toMatch(/row 2, column 2/);
  });

  it("refuses a record longer than its limit instead of buffering it", () => {
    const scanner = new CsvScanner(44, 10, 10, 1_000);
    const sink = () => {};
    scanner.push(new TextEncoder().encode('a,b\n"'), sink);
    expect(() => scanner.push(new Uint8Array(2_000).fill(97), sink)).toThrow(/runs past 1000 bytes/);
  });

  it("counts the cells of a record wider than it stores", () => {
    const counts: number[] = [];
    const scanner = new CsvScanner(44, 10, 3, 1 << 20);
    scanner.push(new TextEncoder().encode("1,2,3,4,5,6\n"), (_, __, count) => void counts.push(count));
    expect(counts).toEqual([6]);
  });

  it("resumes from `consumed` with a new scanner, giving the same records and row numbers as one scan", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(cellText, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        fc.nat(),
        (rows, rawCuts, rawStop) => {
          const bytes = new TextEncoder().encode(`${rows.map((row) => row.map((cell) => quote(cell, false)).join(",")).join("\n")}\n`);
          const whole = scan(
            bytes,
            rawCuts.map((cut) => cut % (bytes.length + 1)),
          );
          // The first scanner stops after some push; a second one takes the bytes from where its complete records end.
          const stopAt = rawStop % (bytes.length + 1);
          const seen: [string[], number][] = [];
          const sink = (numbered: [string[], number][]) => (buffer: Uint8Array, cells: Int32Array, count: number, row: number) => {
            const texts = Array.from({ length: count }, (_, i) => {
              const [start, end] = [cells[3 * i]!, cells[3 * i + 1]!];
              if (cells[3 * i + 2] !== ESCAPED) return decoder.decode(buffer.subarray(start, end));
              const [out, length] = unescapeCell(buffer, start, end, new Uint8Array(0));
              return decoder.decode(out.subarray(0, length));
            });
            numbered.push([texts, row]);
          };
          const first = new CsvScanner(44, 10, 1_000, 1 << 20);
          first.push(bytes.subarray(0, stopAt), sink(seen));
          const second = new CsvScanner(44, 10, 1_000, 1 << 20, first.records);
          second.push(bytes.subarray(first.consumed), sink(seen));
          second.end(sink(seen));
          expect(seen.map(([texts]) => texts)).toEqual(whole);
          const single: [string[], number][] = [];
          const one = new CsvScanner(44, 10, 1_000, 1 << 20);
          one.push(bytes, sink(single));
          one.end(sink(single));
          expect(seen.map(([, row]) => row)).toEqual(single.map(([, row]) => row));
        },
      ),
    );
  });
});
