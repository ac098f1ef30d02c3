// A CSV profiled in segments (each one's state written out as JSON and read back, as the ingest job keeps it in R2 between
// queue messages) gives the very profile, sample and reject report of one pass, wherever the segments and chunks fall.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../../src/lib/problem.ts";
import type { ChunkReader } from "../../../../src/services/datasets/encoding.ts";
import {
  type CsvCheckpoint,
  type Limits,
  type Profiled,
  profileBytes,
  profileCsvSegment,
} from "../../../../src/services/datasets/ingest.ts";
import type { ParseOptions } from "../../../../src/services/datasets/parsers.ts";
import { Profiler } from "../../../../src/services/datasets/profile/profiler.ts";

const encoder = new TextEncoder();
const limits: Limits = { maxBytes: 1 << 30, maxRows: 1_000_000, maxColumns: 1_000, maxDepth: 32 };

/** `bytes` from `from` on, in chunks of `size` bytes. */
function readerOf(bytes: Uint8Array, from: number, size: number): ChunkReader {
  let at = from;
  return {
    read: async () => {
      if (at >= bytes.length) return undefined;
      const chunk = bytes.slice(at, at + size);
      at += chunk.length;
      return chunk;
    },
    cancel: async () => {},
  };
}

/** The same figures as JSON (the reject log's sink is a function). */
const figures = ({ rows, encoding, rejects }: Profiled) => JSON.stringify({ rows, encoding, rejects: [rejects.count, rejects.listed] });

/** The file in segments of about `segmentBytes`, each checkpoint through JSON; also how many segments it took. */
async function inSegments(file: Uint8Array, parse: ParseOptions, segmentBytes: number, chunk: number, max = limits) {
  let checkpoint: CsvCheckpoint | null = null;
  for (let segments = 1; ; segments++) {
    const from = checkpoint?.reached ?? 0;
    const result = await profileCsvSegment(readerOf(file, from, chunk), parse, max, {
      checkpoint,
      bytes: segmentBytes,
      total: file.length,
    });
    if ("profiled" in result) return { profiled: result.profiled, segments };
    expect(result.checkpoint.reached).toBeGreaterThan(from);
    checkpoint = JSON.parse(JSON.stringify(result.checkpoint)) as CsvCheckpoint;
  }
}

/** mulberry32: the generated file follows from the property's seed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A CSV of every kind of cell: repeats and uniques (past the top-values map and the quantile sample), quotes, newlines in quotes. */
function csvOf(seed: number, rows: number, width: number, { bom = false, crlf = false, ragged = false } = {}) {
  const next = random(seed);
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!;
  const cell = (column: number) => {
    switch ((column + Math.floor(next() * 3)) % 6) {
      case 0:
        return String(Math.floor(next() * 50)); // repeats
      case 1:
        return (next() * 1e6 - 5e5).toFixed(Math.floor(next() * 4)); // mostly unique numbers
      case 2:
        return pick(["", "NA", "null", "2026-01-31", "2025-12-01T10:00:00Z", "true", "é😀", "-0", " 12"]);
      case 3:
        return `"quoted, ""with"" a\nnewline ${Math.floor(next() * 10_000)}"`;
      case 4:
        return `id-${Math.floor(next() * 1e9)}`;
      default:
        return "x".repeat(Math.floor(next() * 300)); // long values are cut for display
    }
  };
  const eol = crlf ? "\r\n" : "\n";
  const lines = [Array.from({ length: width }, (_, i) => `col${i}`).join(",")];
  for (let r = 0; r < rows; r++) {
    const count = ragged && next() < 0.05 ? width + 1 : width;
    lines.push(Array.from({ length: count }, (_, i) => cell(i)).join(","));
    if (next() < 0.01) lines.push(""); // a blank line, skipped but counted in row numbers
  }
  return encoder.encode(`${bom ? "\uFEFF" : ""}${lines.join(eol)}${next() < 0.5 ? eol : ""}`);
}

describe("profiling a CSV in segments", () => {
  it("gives the same profile, sample and rejects as one pass, for any file, segment size and chunking", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer(),
          rows: fc.integer({ min: 1, max: 2_500 }),
          width: fc.integer({ min: 1, max: 4 }),
          bom: fc.boolean(),
          crlf: fc.boolean(),
          skip: fc.boolean(),
          segmentBytes: fc.integer({ min: 1, max: 200_000 }),
          chunk: fc.integer({ min: 1, max: 70_000 }),
        }),
        async ({ seed, rows, width, bom, crlf, skip, segmentBytes, chunk }) => {
          const file = csvOf(seed, rows, width, { bom, crlf, ragged: skip });
          const parse: ParseOptions = skip ? { format: "csv", onError: "skip" } : { format: "csv" };
          const whole = await profileBytes(readerOf(file, 0, 65_536), parse, limits);
          const { profiled, segments } = await inSegments(file, parse, segmentBytes, Math.max(chunk, 64));
          expect(figures(profiled)).toBe(figures(whole));
          // A segment stops after the first chunk that completes a record past segmentBytes, unless that is the file's end.
          if (segmentBytes + Math.max(chunk, 64) + 2_000 < file.length) expect(segments).toBeGreaterThan(1);
        },
      ),
      { numRuns: 20 },
    );
  });

  it("sketches past their exact range (distinct, top values, quantiles) carry across segments", async () => {
    const next = random(7);
    const lines = Array.from({ length: 40_000 }, (_, i) => `${(next() * 1e6).toFixed(2)},id-${i},${Math.floor(next() * 5_000)}`);
    const file = encoder.encode(`x,id,group\n${lines.join("\n")}\n`);
    const whole = await profileBytes(readerOf(file, 0, 65_536), { format: "csv" }, limits);
    const { profiled, segments } = await inSegments(file, { format: "csv" }, 100_000, 16_384);
    expect(segments).toBeGreaterThan(5);
    expect(whole.rows.profile.columns.map((column) => column.approximate)).toEqual([
      { distinct: true, quantiles: true },
      { distinct: true, quantiles: false },
      { distinct: true, quantiles: true },
    ]);
    expect(figures(profiled)).toBe(figures(whole));
  });

  it("counts rows against MAX_ROWS across segments, and a quote opened in one and never closed fails in the last", async () => {
    const file = csvOf(3, 500, 2);
    const refusal = await inSegments(file, { format: "csv" }, 1_000, 512, { ...limits, maxRows: 400 }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ApiError);
    expect((refusal as ApiError).code).toBe("TOO_MANY_ROWS");
    const unclosed = encoder.encode(`a,b\n${"1,2\n".repeat(1_000)}3,"never closed\n${"4,5\n".repeat(100)}`);
    const malformed = await inSegments(unclosed, { format: "csv" }, 500, 256).catch((error: unknown) => error);
    expect((malformed as ApiError).code).toBe("CSV_MALFORMED");
  });

  it("a profiler restored from its snapshot goes on exactly as the one that wrote it (type overrides included)", () => {
    const names = ["n", "when"];
    const overrides = [{ column: "when", type: "date" as const }];
    const record = (row: number) => encoder.encode(`${(row * 7919) % 5_003}.${row % 10},${row % 13 === 0 ? "bad" : "2026-01-02"}`);
    const add = (profiler: Profiler, row: number) => {
      const bytes = record(row);
      const comma = bytes.indexOf(44);
      profiler.addRecord(bytes, new Int32Array([0, comma, 0, comma + 1, bytes.length, 0]));
    };
    const whole = new Profiler(names, overrides);
    for (let row = 0; row < 9_000; row++) add(whole, row);
    let split = new Profiler(names, overrides);
    for (let row = 0; row < 9_000; row++) {
      if (row % 2_500 === 0) split = Profiler.restored(JSON.parse(JSON.stringify(split.snapshot())), overrides);
      add(split, row);
    }
    const result = whole.result();
    expect(result.columns[1]!.override?.unfit).toBeGreaterThan(0);
    expect(JSON.stringify(split.result())).toBe(JSON.stringify(result));
  });
});
