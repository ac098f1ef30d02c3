// A response body pulled from a generator only as fast as the client reads it: a client that leaves stops the generator
// (and whatever it reads, such as an R2 object or a paged query).
import { describeError, type Logger } from "./logger.ts";

/** Strings are sent as UTF-8. A failure after the headers went cuts the body off and is logged as `what` failing. */
export function pullStream(chunks: AsyncGenerator<Uint8Array | string>, logger: Logger, what: string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(typeof value === "string" ? encoder.encode(value) : value);
      } catch (error) {
        // The headers are gone already: the client sees a cut-off body, the log says why.
        logger.error(`${what} failed mid-stream`, describeError(error));
        controller.error(error);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
