// The text encodings an upload may be in. workerd's TextDecoder (WHATWG Encoding) decodes each of them, so no decoder is
// bundled. The CSV byte scanner reads UTF-8 only: a file in another encoding is transcoded to UTF-8 a chunk at a time
// in front of it, while R2 keeps the bytes as uploaded. Every reader of a stored file opens it through here.
import type { Encoding } from "../../db/dataset-documents.ts";
import { ApiError } from "../../lib/problem.ts";

export type { Encoding };

export const ENCODINGS = [
  "utf-8",
  "utf-16le",
  "utf-16be",
  "windows-1252",
  "iso-8859-1",
  "iso-8859-15",
] as const satisfies readonly Encoding[];

const NAMES: Record<Encoding, string> = {
  "utf-8": "UTF-8",
  "utf-16le": "UTF-16LE",
  "utf-16be": "UTF-16BE",
  "windows-1252": "windows-1252",
  "iso-8859-1": "ISO-8859-1",
  "iso-8859-15": "ISO-8859-15",
};

/** Reads chunks of bytes; BodyReader is one. */
export interface ChunkReader {
  read(): Promise<Uint8Array | undefined>;
  cancel(reason?: unknown): Promise<void>;
}

export const encodingMismatch = (encoding: Encoding, why: string) =>
  new ApiError(422, { code: "ENCODING_MISMATCH", detail: `The file is not ${NAMES[encoding]} text: ${why}.` });

/** The encoding a byte order mark at the start of `head` names, if any. */
export function bomOf(head: Uint8Array): Encoding | undefined {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return "utf-8";
  if (head[0] === 0xff && head[1] === 0xfe) return "utf-16le";
  if (head[0] === 0xfe && head[1] === 0xff) return "utf-16be";
  return undefined;
}

/** What the file is read as: the declared encoding, else its BOM's (UTF-16 is told only by one), else UTF-8. */
export function encodingOf(head: Uint8Array, declared: Encoding | undefined): Encoding {
  const bom = bomOf(head);
  if (!declared) return bom ?? "utf-8";
  if (bom && bom !== declared) throw encodingMismatch(declared, `it starts with a ${NAMES[bom]} byte order mark`);
  return declared;
}

/** Decodes `inner` (in `encoding`) and hands the text on as UTF-8 bytes; the decoder drops a UTF-16 BOM. */
class Utf8Reader implements ChunkReader {
  private readonly decoder: TextDecoder;
  private readonly encoder = new TextEncoder();
  private ended = false;

  constructor(
    private readonly inner: ChunkReader,
    private readonly encoding: Encoding,
  ) {
    this.decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: false });
  }

  async read(): Promise<Uint8Array | undefined> {
    while (!this.ended) {
      const chunk = await this.inner.read();
      let text: string;
      try {
        text = chunk ? this.decoder.decode(chunk, { stream: true }) : this.decoder.decode();
      } catch {
        throw encodingMismatch(this.encoding, "its bytes are not valid in it (an odd byte count or an unpaired surrogate)");
      }
      if (!chunk) this.ended = true;
      if (text.length > 0) return this.encoder.encode(text);
    }
    return undefined;
  }

  cancel(reason?: unknown): Promise<void> {
    return this.inner.cancel(reason);
  }
}

/**
 * Opens `raw` as UTF-8 bytes: reads its first bytes to settle the encoding (see encodingOf), then replays them.
 * UTF-8 passes through untouched (its BOM is left to the caller, as before); any other encoding is transcoded.
 */
export async function utf8Reader(raw: ChunkReader, declared: Encoding | undefined): Promise<{ encoding: Encoding; reader: ChunkReader }> {
  const held: Uint8Array[] = [];
  let length = 0;
  while (length < 3) {
    const chunk = await raw.read();
    if (!chunk) break;
    held.push(chunk);
    length += chunk.length;
  }
  const head = new Uint8Array(Math.min(length, 3));
  let at = 0;
  for (const chunk of held) {
    if (at >= head.length) break;
    const part = chunk.subarray(0, head.length - at);
    head.set(part, at);
    at += part.length;
  }
  const encoding = encodingOf(head, declared);
  const replay: ChunkReader = {
    read: async () => held.shift() ?? raw.read(),
    cancel: (reason) => raw.cancel(reason),
  };
  return { encoding, reader: encoding === "utf-8" ? replay : new Utf8Reader(replay, encoding) };
}

/** A stored file's bytes as text, decoded as it was uploaded (files from before the encoding was recorded are UTF-8). */
export const textDecoderFor = (encoding: Encoding | undefined, fatal: boolean) => new TextDecoderStream(encoding ?? "utf-8", { fatal });
