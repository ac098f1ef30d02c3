// Idempotency-Key on POST and PATCH: the first response is kept 24 h and replayed; another request under the key is 422, one in flight 409.
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { sha256Hex } from "../lib/crypto.ts";
import { describeError } from "../lib/logger.ts";
import { ApiError } from "../lib/problem.ts";
import { guarded } from "../lib/session-guard.ts";
import type { AppEnv, Principal } from "../lib/types.ts";
import { isUpload } from "../lib/uploads.ts";

const KEEP_SECONDS = 24 * 60 * 60;
/** How long a request may hold its key before another may take it over (a crashed request must not block it forever). */
const IN_FLIGHT_SECONDS = 60;
/** Larger responses are not kept: a retry then runs again (no route that creates answers anywhere near this). */
const MAX_STORED_BODY = 256 * 1024;

interface Stored {
  /** "secret": the first response carried a secret (Cache-Control: no-store); only that it happened is kept. */
  state: "in-flight" | "done" | "secret";
  fingerprint: string;
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

const replayedHeaders = ["Content-Type", "Location", "ETag", "Cache-Control"];

const methods = new Set(["POST", "PATCH"]);

/**
 * Whose key this is: an API key, or a person in one session (a replay never outlives the session it was made in,
 * nor crosses to another); an external IdP's token has no session of ours, so it is the person.
 */
const ownerOf = (principal: Principal) =>
  principal.kind === "api_key" ? `key:${principal.keyId}` : `user:${principal.userId}:${principal.sessionId ?? "external"}`;

/** What makes two requests the same: method, path with its query string, the If-Match they were conditional on, body. */
export async function fingerprintOf(c: Context<AppEnv>): Promise<string> {
  const url = new URL(c.req.url);
  return sha256Hex(`${c.req.method} ${url.pathname}${url.search}\n${c.req.header("If-Match") ?? ""}\n${await c.req.text()}`);
}

/**
 * Uploads are left alone: their bodies stream, and the same bytes already return the same dataset.
 * Scoped to the caller (an anonymous request is never deduplicated: without an identity, one client's
 * key could collide with another's). A response marked `Cache-Control: no-store` (tokens, a new API key's
 * secret) is never kept: its key then answers 409 IDEMPOTENCY_NOT_REPLAYABLE, so a secret never sits in Redis.
 */
export const idempotency = () =>
  createMiddleware<AppEnv>(async function idempotency(c, next) {
    const key = c.req.header("Idempotency-Key");
    const principal = c.get("principal");
    if (!methods.has(c.req.method) || key === undefined || !principal || isUpload(c)) return next();
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
      throw new ApiError(400, {
        code: "VALIDATION_FAILED",
        detail: "Idempotency-Key must be 1 to 255 visible ASCII characters.",
        errors: [{ path: "header.Idempotency-Key", message: "Invalid idempotency key" }],
      });
    }
    const redis = c.get("services").redis;
    const slot = `idem:${ownerOf(principal)}:${await sha256Hex(key)}`;
    const fingerprint = await fingerprintOf(c);

    // One round trip: take the key if free, else read what holds it.
    const previous = await redis.set<Stored>(slot, { state: "in-flight", fingerprint }, { nx: true, ex: IN_FLIGHT_SECONDS, get: true });
    const taken = typeof previous === "object" ? previous : null;
    if (taken) {
      // Nothing stored is told before the caller's session is checked again: a signed-out token replays nothing.
      // (An API key was checked against its row when it authenticated, revocation included.)
      if (c.get("pendingSession")) await guarded(c, (db) => [db.execute(sql`SELECT 1`)]);
      if (taken.fingerprint !== fingerprint) {
        throw new ApiError(422, {
          code: "IDEMPOTENCY_KEY_REUSED",
          detail: "This Idempotency-Key was used with a different request; use a new key for a new request.",
        });
      }
      if (taken.state === "in-flight") {
        throw new ApiError(409, {
          code: "IDEMPOTENCY_IN_FLIGHT",
          detail: "A request with this Idempotency-Key is still being processed; retry shortly.",
          headers: { "Retry-After": "1" },
        });
      }
      if (taken.state === "secret") {
        throw new ApiError(409, {
          code: "IDEMPOTENCY_NOT_REPLAYABLE",
          detail:
            "The first response to this Idempotency-Key carried a secret shown only once, and is not kept; list the resource to find what it created.",
        });
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
      if (c.res.ok && /\bno-store\b/i.test(c.res.headers.get("Cache-Control") ?? "")) {
        await redis.set<Stored>(slot, { state: "secret", fingerprint }, { ex: KEEP_SECONDS });
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
