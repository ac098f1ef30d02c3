// BodyReader: byte streams in large chunks, other streams as they come, every byte once.
import { describe, expect, it } from "vitest";
import { BodyReader } from "../../../src/services/datasets/body-reader.ts";

const piece = (i: number) => new Uint8Array(1_000).fill(i % 251);

async function readAll(reader: BodyReader) {
  const chunks: Uint8Array[] = [];
  for (let chunk = await reader.read(); chunk; chunk = await reader.read()) chunks.push(chunk);
  return chunks;
}

describe("BodyReader", () => {
  it("reads a byte stream of small pieces in chunks of 256 KB", async () => {
    let i = 0;
    const source: UnderlyingByteSource = {
      type: "bytes",
      pull(controller) {
        if (i === 600) return controller.close();
        controller.enqueue(piece(i++));
      },
    };
    const body = new ReadableStream(source) as ReadableStream<Uint8Array>;
    const chunks = await readAll(new BodyReader(body));
    expect(chunks.map((chunk) => chunk.length)).toEqual([262_144, 262_144, 75_712]);
    const joined = new Uint8Array(600_000);
    chunks.reduce((at, chunk) => (joined.set(chunk, at), at + chunk.length), 0);
    for (let k = 0; k < 600; k++) expect(joined[k * 1_000]).toBe(k % 251);
  });

  it("reads a request body in chunks larger than it arrives in", async () => {
    const body = new Request("https://example.com", { method: "POST", body: new Uint8Array(300_000).fill(7) }).body!;
    const chunks = await readAll(new BodyReader(body));
    expect(chunks.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(300_000);
    expect(chunks[0]!.length).toBe(262_144);
  });

  it("reads a stream that is not a byte stream as it comes, and cancels it", async () => {
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(piece(1));
        controller.enqueue(piece(2));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const reader = new BodyReader(body);
    expect((await reader.read())?.length).toBe(1_000);
    await reader.cancel("enough");
    expect(cancelled).toBe("enough");
  });
});
