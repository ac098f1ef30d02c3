// Work that may finish after the response (audit rows, usage stamps, rate-limit bookkeeping).
import type { Context } from "hono";

export function waitUntil(c: Context, work: Promise<unknown>) {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    void work; // no execution context (app.request in a unit test): the promise runs on its own
  }
}
