// Idempotency-Key on POST: the first response is kept 24 h and replayed; another body under the key is 422, one in flight 409.
import { createMiddleware } from "hono/factory";
import { sha256Hex } from "../lib/crypto.ts";
import { describeError } from "../lib/logger.ts";
import { ApiError } from "../lib/problem.ts";
import type { AppEnv } from "../lib/types.ts";
import { isUpload } from "../lib/uploads.ts";

const KEEP_SECONDS = 24 * 60 * 60;
/** How long a request may hold its key before another may take it over (a crashed request must not block it forever). */
const IN_FLIGHT_SECONDS = 60;
/** Larger responses are not kept: a retry then runs again (no route that creates answers anywhere near this). */
const MAX_STORED_BODY = 256 * 1024;

interface Stored {
  state: "in-flight" | "done";
  fingerprint: string;
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

const replayedHeaders = ["Content-Type", "Location", "ETag", "Cache-Control"];

/**
 * Uploads are left alone: their bodies stream, and the same bytes already return the same dataset.
 * Scoped to the caller (an anonymous POST is never deduplicated: without an identity, one client's
 * key could collide with another's). The fingerprint covers method, path and body.
 */
export const idempotency = () =>
  createMiddleware<AppEnv>(async function idempotency(c, next) {
    const key = c.req.header("Idempotency-Key");
    const principal = c.get("principal");
    if (c.req.method !== "POST" || key === undefined || !principal || isUpload(c)) return next();
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
      throw new ApiError(400, {
        code: "VALIDATION_FAILED",
        detail: "Idempotency-Key must be 1 to 255 visible ASCII characters.",
        errors: [{ path: "header.Idempotency-Key", message: "Invalid idempotency key" }],
      });
    }
    const redis = c.get("services").redis;
    const owner = principal.kind === "api_key" ? `key:${principal.keyId}` : `user:${principal.userId}`;
    const slot = `idem:${owner}:${await sha256Hex(key)}`;
    const fingerprint = await sha256Hex(`${c.req.method} ${c.req.path}\n${await c.req.text()}`);

    // One round trip: take the key if free, else read what holds it.
    const previous = await redis.set<Stored>(slot, { state: "in-flight", fingerprint }, { nx: true, ex: IN_FLIGHT_SECONDS, get: true });
    const taken = typeof previous === "object" ? previous : null;
    if (taken) {
      if (taken.fingerprint !== fingerprint) {
        throw new ApiError(422, { code: "IDEMPOTENCY_KEY_REUSED", detail: "This Idempotency-Key was used with a different request; use a new key for a new request." });
      }
      if (taken.state === "in-flight") {
        throw new ApiError(409, { code: "IDEMPOTENCY_IN_FLIGHT", detail: "A request with this Idempotency-Key is still being processed; retry shortly.", headers: { "Retry-After": "1" } });
      }
      const headers = { ...taken.headers, "Idempotent-Replayed": "true" };
      const status = (taken.status ?? 200) as 200;
      return taken.body ? c.body(taken.body, status, headers) : c.body(null, status, headers);
    }

    await next();
    // The route has run (and may have written): from here a Redis failure must not replace its answer with a 503
    // that invites a retry. The key then stays in flight until it expires, and a retry meanwhile gets 409.
    try {
      if (c.res.headers.get("Content-Type")?.startsWith("text/event-stream")) {
        // A stream cannot be replayed (nor read here without holding it back); what it created has its own id to follow.
        await redis.del(slot);
        return;
      }
      const body = await c.res.clone().text();
      if (c.res.status >= 500 || body.length > MAX_STORED_BODY) {
        // A failure of ours may be retried with the same key; so may a response too large to keep.
        await redis.del(slot);
        return;
      }
      const headers: Record<string, string> = {};
      for (const name of replayedHeaders) {
        const value = c.res.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      await redis.set<Stored>(slot, { state: "done", fingerprint, status: c.res.status, headers, body }, { ex: KEEP_SECONDS });
    } catch (error) {
      c.get("logger").warn("idempotent response not stored", { status: c.res.status, ...describeError(error) });
    }
  });
