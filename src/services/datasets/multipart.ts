// Streams the file out of a multipart/form-data body without buffering it.
// (Libraries on npm hand over each part whole, which would hold a 50 MB upload in memory.)
import { ApiError } from "../../lib/problem.ts";
import { BodyReader } from "./body-reader.ts";

export interface FilePart {
  filename: string | null;
  contentType: string | null;
  /** Text fields sent before the file (e.g. `name`). */
  fields: Record<string, string>;
  stream: ReadableStream<Uint8Array>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_FIELD_BYTES = 64 * 1024;

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  outer: for (
    let i = haystack.indexOf(first!, from);
    i !== -1 && i <= haystack.length - needle.length;
    i = haystack.indexOf(first!, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

const malformed = (detail: string) => new ApiError(400, { code: "BAD_REQUEST", detail: `The multipart body is malformed: ${detail}.` });

export function boundaryOf(contentType: string): string {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const value = boundary?.[1] ?? boundary?.[2];
  if (!value) throw malformed("its Content-Type names no boundary");
  return value;
}

export async function filePart(body: ReadableStream<Uint8Array>, boundary: string): Promise<FilePart> {
  const reader = new BodyReader(body);
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  // The first boundary has no CRLF before it: pretend it does, so every boundary looks alike.
  let buffer: Uint8Array = encoder.encode("\r\n");
  const fields: Record<string, string> = {};

  const fill = async () => {
    const chunk = await reader.read();
    if (!chunk) throw malformed("it ended before the file");
    buffer = concat(buffer, chunk);
  };
  const until = async (needle: Uint8Array, limit: number) => {
    let at: number;
    while ((at = indexOf(buffer, needle)) === -1) {
      if (buffer.length > limit) throw malformed("a part is larger than allowed before the file");
      await fill();
    }
    return at;
  };

  // Skip the preamble up to the first boundary.
  let at = await until(delimiter, MAX_HEADER_BYTES);
  buffer = buffer.slice(at + delimiter.length);
  for (;;) {
    while (buffer.length < 2) await fill();
    if (buffer[0] === 0x2d && buffer[1] === 0x2d)
      throw new ApiError(422, {
        code: "UNPROCESSABLE_ENTITY",
        detail: 'The multipart body has no file part (send the file in a field named "file").',
      });
    const end = await until(encoder.encode("\r\n\r\n"), MAX_HEADER_BYTES);
    const headers = decoder.decode(buffer.slice(2, end));
    buffer = buffer.slice(end + 4);
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? "";
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? "";
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    const contentType = /content-type:\s*([^\r\n;]*)/i.exec(headers)?.[1]?.trim() ?? null;
    if (filename === undefined && name !== "file") {
      at = await until(delimiter, MAX_FIELD_BYTES);
      fields[name] = decoder.decode(buffer.slice(0, at));
      buffer = buffer.slice(at + delimiter.length);
      continue;
    }
    // The file: stream everything up to the next boundary, holding back what could be its start.
    let done = false;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        for (;;) {
          const found = indexOf(buffer, delimiter);
          if (found !== -1) {
            if (found > 0) controller.enqueue(buffer.slice(0, found));
            controller.close();
            done = true;
            await reader.cancel().catch(() => {});
            return;
          }
          const safe = buffer.length - (delimiter.length - 1);
          if (safe > 0) {
            controller.enqueue(buffer.slice(0, safe));
            buffer = buffer.slice(safe);
            return;
          }
          const chunk = await reader.read();
          if (!chunk) throw malformed("the file part is not terminated by its boundary");
          buffer = concat(buffer, chunk);
        }
      },
      async cancel() {
        if (!done) await reader.cancel().catch(() => {});
      },
    });
    return { filename: filename ?? null, contentType, fields, stream };
  }
}
