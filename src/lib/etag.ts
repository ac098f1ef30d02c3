// Conditional requests: ETag on reads (If-None-Match → 304), If-Match on writes (412 when stale).
import type { Context } from "hono";
import { ApiError } from "./problem.ts";

/** A strong ETag from a row's version (a counter, or anything else that changes with the representation). */
export const etagOf = (version: number | string) => `"${version}"`;

/** The entity tags a conditional header lists. `weak: "match"` compares a weak tag by its value (If-None-Match, RFC 9110
 * §13.1.2); `weak: "never"` drops weak tags, since If-Match uses the strong comparison (§13.1.1) and a weak tag never matches. */
function tags(header: string, weak: "match" | "never"): string[] {
  const listed = header
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
  return weak === "match" ? listed.map((tag) => tag.replace(/^W\//, "")) : listed.filter((tag) => !tag.startsWith("W/"));
}

/** True when the client's copy is current: answer 304. */
export function notModified(c: Context, etag: string): boolean {
  const header = c.req.header("If-None-Match");
  return header !== undefined && (header.trim() === "*" || tags(header, "match").includes(etag.replace(/^W\//, "")));
}

/** A read tagged with `etag`: a 304 when the client's copy is current, else `answer()` with the ETag header. */
export function etagged<R>(c: Context, etag: string, answer: () => R) {
  if (notModified(c, etag)) return c.body(null, 304, { ETag: etag });
  c.header("ETag", etag);
  return answer();
}

/**
 * The version the client's If-Match names (to make the write conditional on it), or undefined when
 * it sent none. A tag that is not the current one is 412: someone else changed the resource.
 */
export function expectedVersion<V extends number | string>(c: Context, current: V): V | undefined {
  const header = c.req.header("If-Match");
  if (header === undefined || header.trim() === "*") return undefined;
  if (!tags(header, "never").includes(etagOf(current))) {
    throw new ApiError(412, {
      detail: `The resource has changed (its ETag is now ${etagOf(current)}); fetch it again and retry.`,
      headers: { ETag: etagOf(current) },
    });
  }
  return current;
}
