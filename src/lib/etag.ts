// Conditional requests: ETag on reads (If-None-Match → 304), If-Match on writes (412 when stale).
import type { Context } from "hono";
import { ApiError } from "./problem.ts";

/** A strong ETag from a row's version (a counter, or anything else that changes with the representation). */
export const etagOf = (version: number | string) => `"${version}"`;

/** The entity tags a conditional header lists (`*`, or one or more quoted tags; weak ones compare by value). */
function tags(header: string): string[] {
  return header.split(",").map((tag) => tag.trim().replace(/^W\//, "")).filter(Boolean);
}

/** True when the client's copy is current: answer 304. */
export function notModified(c: Context, etag: string): boolean {
  const header = c.req.header("If-None-Match");
  return header !== undefined && (header.trim() === "*" || tags(header).includes(etag));
}

/**
 * The version the client's If-Match names (to make the write conditional on it), or undefined when
 * it sent none. A tag that is not the current one is 412: someone else changed the resource.
 */
export function expectedVersion<V extends number | string>(c: Context, current: V): V | undefined {
  const header = c.req.header("If-Match");
  if (header === undefined || header.trim() === "*") return undefined;
  if (!tags(header).includes(etagOf(current))) {
    throw new ApiError(412, { detail: `The resource has changed (its ETag is now ${etagOf(current)}); fetch it again and retry.`, headers: { ETag: etagOf(current) } });
  }
  return current;
}
