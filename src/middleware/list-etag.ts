// A weak ETag on every JSON read that has none of its own (the lists), from a digest of the body; If-None-Match answers 304.
import { createMiddleware } from "hono/factory";
import { base64url } from "../lib/crypto.ts";
import { notModified } from "../lib/etag.ts";
import type { AppEnv } from "../lib/types.ts";

/** Headers that describe a body, which a 304 has none of (RFC 9110 §15.4.5). */
const bodyHeaders = new Set(["content-type", "content-length", "content-encoding", "content-disposition"]);

/**
 * Single resources set a strong ETag from their version; everything else read as JSON (lists, previews, exports) gets a weak
 * one here, so a dashboard polling a list pays for the query but not for the transfer. Streams (SSE) are never read.
 */
export const listEtag = () =>
  createMiddleware<AppEnv>(async function listEtag(c, next) {
    await next();
    if ((c.req.method !== "GET" && c.req.method !== "HEAD") || c.res.status !== 200 || c.res.headers.has("ETag")) return;
    if (!/^application\/json\b/.test(c.res.headers.get("Content-Type") ?? "")) return;
    const digest = await crypto.subtle.digest("SHA-256", await c.res.clone().arrayBuffer());
    const etag = `W/"${base64url(new Uint8Array(digest).slice(0, 18))}"`;
    if (notModified(c, etag)) {
      const headers = new Headers();
      for (const [name, value] of c.res.headers) if (!bodyHeaders.has(name)) headers.append(name, value);
      headers.set("ETag", etag);
      await c.res.body?.cancel();
      // Unset first: Hono's setter would copy the 200's headers (Content-Length included) onto the 304.
      c.res = undefined;
      c.res = new Response(null, { status: 304, headers });
      return;
    }
    c.res.headers.set("ETag", etag);
  });
