// Reads an upload's body in large chunks. workerd hands a request body over in pieces of 4 KB, and
// the upload does some work per piece (a read, a hashing call, a record carried across the cut, a
// batch for the profiler): 12,000 times for 50 MB. A byte stream read with readAtLeast fills 256 KB
// at a time instead. Streams that are not byte streams (made in JS) are read as they come.

const CHUNK_BYTES = 256 * 1024;

export class BodyReader {
  private readonly byob: ReadableStreamBYOBReader | null;
  private readonly plain: ReadableStreamDefaultReader<Uint8Array> | null;

  constructor(body: ReadableStream<Uint8Array>) {
    let byob: ReadableStreamBYOBReader | null = null;
    try {
      byob = body.getReader({ mode: "byob" });
    } catch {
      // not a byte stream
    }
    this.byob = byob;
    this.plain = byob ? null : body.getReader();
  }

  /** The next chunk (a new buffer each time, so a chunk may be kept), or undefined at the end. */
  async read(): Promise<Uint8Array | undefined> {
    if (this.plain) {
      const { value, done } = await this.plain.read();
      return done ? undefined : value;
    }
    for (;;) {
      const { value, done } = await this.byob!.readAtLeast(CHUNK_BYTES, new Uint8Array(CHUNK_BYTES));
      if (value && value.length > 0) return value;
      if (done) return undefined;
    }
  }

  cancel(reason?: unknown): Promise<void> {
    return (this.byob ?? this.plain)!.cancel(reason);
  }
}
