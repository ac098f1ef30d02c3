// utf8Reader in workerd: the encoding settled from the first bytes however the body is cut, and text decoded across any cut
// (a UTF-16 code unit or surrogate pair split between chunks).
import { describe, expect, it } from "vitest";
import { type ChunkReader, type Encoding, encodingOf, utf8Reader } from "../../../src/services/datasets/encoding.ts";

/** A reader handing out `bytes` in pieces of `size`. */
function pieces(bytes: Uint8Array, size: number): ChunkReader & { cancelled: boolean } {
  let at = 0;
  return {
    cancelled: false,
    read: async () => {
      if (at >= bytes.length) return undefined;
      const chunk = bytes.slice(at, at + size);
      at += size;
      return chunk;
    },
    async cancel() {
      this.cancelled = true;
    },
  };
}

async function drain(reader: ChunkReader): Promise<Uint8Array> {
  const parts: number[] = [];
  for (let chunk = await reader.read(); chunk; chunk = await reader.read()) parts.push(...chunk);
  return Uint8Array.from(parts);
}

// The test's own UTF-16 encoder (code units, then bytes in the order asked for).
const utf16 = (text: string, order: "le" | "be") =>
  Uint8Array.from(
    [..."\ufeff".concat(text)].flatMap((char) => {
      const code = char.codePointAt(0)!;
      const units = code > 0xffff ? [0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff)] : [code];
      return units.flatMap((unit) => (order === "le" ? [unit & 0xff, unit >> 8] : [unit >> 8, unit & 0xff]));
    }),
  );

const text = "name,note\r\nZoë,📈 up 5 €\r\nJürgen,naïve\r\n";

describe("utf8Reader", () => {
  it.each([1, 2, 3, 7, 4096])("decodes UTF-16LE and BE to UTF-8 in pieces of %i bytes, the BOM dropped", async (size) => {
    for (const order of ["le", "be"] as const) {
      const { encoding, reader } = await utf8Reader(pieces(utf16(text, order), size), undefined);
      expect(encoding).toBe(`utf-16${order}`);
      expect(await drain(reader)).toEqual(new TextEncoder().encode(text));
    }
  });

  it("decodes declared windows-1252 byte by byte, € from 0x80", async () => {
    const bytes = Uint8Array.from([0x80, 0x2c, 0xe9, 0xfc, 0x0a]);
    const { encoding, reader } = await utf8Reader(pieces(bytes, 1), "windows-1252");
    expect(encoding).toBe("windows-1252");
    expect(await drain(reader)).toEqual(new TextEncoder().encode("€,éü\n"));
  });

  it("passes UTF-8 through as the same bytes (its BOM kept for the caller), and an empty body as nothing", async () => {
    const bytes = new TextEncoder().encode(`\ufeff${text}`);
    const { encoding, reader } = await utf8Reader(pieces(bytes, 2), undefined);
    expect(encoding).toBe("utf-8");
    expect(await drain(reader)).toEqual(bytes);
    const empty = await utf8Reader(pieces(new Uint8Array(0), 1), undefined);
    expect(empty.encoding).toBe("utf-8");
    expect(await empty.reader.read()).toBeUndefined();
  });

  it("refuses UTF-16 with an odd byte count or an unpaired surrogate once it reaches them", async () => {
    const odd = await utf8Reader(pieces(utf16("a,b\n", "le").subarray(0, 7), 3), "utf-16le");
    await expect(drain(odd.reader)).rejects.toMatchObject({
      status: 422,
      code: "ENCODING_MISMATCH",
      detail: expect.stringMatching(/UTF-16LE/),
    });
    const lone = await utf8Reader(pieces(Uint8Array.from([0x61, 0x00, 0x00, 0xdc, 0x62, 0x00]), 2), "utf-16le");
    await expect(drain(lone.reader)).rejects.toMatchObject({
      status: 422,
      code: "ENCODING_MISMATCH",
      detail: expect.stringMatching(/UTF-16LE/),
    });
  });
});

describe("encodingOf", () => {
  const cases: [number[], Encoding | undefined, Encoding | "refused"][] = [
    [[0x61, 0x2c], undefined, "utf-8"],
    [[0xef, 0xbb, 0xbf, 0x61], undefined, "utf-8"],
    [[0xff, 0xfe, 0x61, 0x00], undefined, "utf-16le"],
    [[0xfe, 0xff, 0x00, 0x61], undefined, "utf-16be"],
    [[0x61, 0x00], "utf-16le", "utf-16le"],
    [[0xff, 0xfe, 0x61, 0x00], "utf-16le", "utf-16le"],
    [[0xfe, 0xff, 0x00, 0x61], "utf-16le", "refused"],
    [[0xff, 0xfe, 0x61, 0x00], "windows-1252", "refused"],
    [[0xef, 0xbb, 0xbf, 0x61], "iso-8859-1", "refused"],
    [[0xe9, 0x2c], "iso-8859-15", "iso-8859-15"],
  ];
  it.each(cases)("%j declared %s reads as %s", (head, declared, expected) => {
    const read = () => encodingOf(Uint8Array.from(head), declared);
    if (expected === "refused") expect(read).toThrow(/byte order mark/);
    else expect(read()).toBe(expected);
  });
});
