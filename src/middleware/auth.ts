// Authentication: a Bearer access token (ours), an external OIDC token, or an API key becomes c.var.principal.
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { apiKeys, organizations, users } from "../db/schema.ts";
import { sha256Hex } from "../lib/crypto.ts";
import { BEARER_REALM, unauthorized } from "../lib/principal.ts";
import { ApiError } from "../lib/problem.ts";
import type { AppEnv, Principal } from "../lib/types.ts";
import { waitUntil } from "../lib/wait-until.ts";
import { provisionUser } from "../services/identity.ts";
import { spendStreamTicket } from "../services/stream-tickets.ts";
import { API_KEY_PREFIX, claimedIssuer, TokenError, verifyAccessToken, verifyExternalToken } from "../services/tokens.ts";

const readMethods = new Set(["GET", "HEAD", "OPTIONS"]);
/** POSTs that only read (a query's text does not fit a URL): a read-only key may send them, and they are not audited as writes. */
const readPosts = [/^\/api\/v1\/datasets\/[^/]+\/query$/];

/** Whether a request only reads, whatever its method. */
export const readsOnly = (method: string, path: string) =>
  readMethods.has(method) || (method === "POST" && readPosts.some((pattern) => pattern.test(path)));

/**
 * Our own access token: its signature is checked here, without I/O. Its session (revoked? account
 * deleted or suspended?) is checked by guarded() in the same round trip as the route's first query.
 */
async function fromAccessToken(c: Context<AppEnv>, token: string): Promise<Principal> {
  const claims = await verifyAccessToken(c.get("config"), token);
  c.set("pendingSession", { userId: claims.userId, sessionId: claims.sessionId });
  return { kind: "user", userId: claims.userId, tier: claims.tier, sessionId: claims.sessionId, via: "password" };
}

async function fromExternalToken(c: Context<AppEnv>, token: string): Promise<Principal> {
  const identity = await verifyExternalToken(c.get("config"), token);
  const db = c.get("services").db;
  const find = () =>
    db
      .select({
        id: users.id,
        email: users.email,
        tier: users.tier,
        status: users.status,
        deletedAt: users.deletedAt,
        emailVerifiedAt: users.emailVerifiedAt,
      })
      .from(users)
      .where(and(eq(users.externalIssuer, identity.issuer), eq(users.externalSubject, identity.subject)));
  let [user] = await find();
  if (!user) {
    // The first valid token provisions the account (what POST /api/user/sync used to do).
    if (!identity.email) throw unauthorized("INVALID_TOKEN", "The identity provider's token carries no email claim.");
    const { statements } = provisionUser(db, {
      email: identity.email,
      name: identity.name,
      passwordHash: null,
      externalIssuer: identity.issuer,
      externalSubject: identity.subject,
      // Only a provider that vouches for the address (email_verified: true) skips the verification link.
      emailVerified: identity.emailVerified,
    });
    await db.batch([...statements]);
    [user] = await find();
    if (!user) {
      throw new ApiError(409, { code: "CONFLICT", detail: "This email already belongs to an account that signs in another way." });
    }
  }
  if (user.deletedAt) throw unauthorized("INVALID_TOKEN", "The account of this token has been deleted.");
  if (user.status !== "active") throw unauthorized("INVALID_TOKEN", "The account of this token is suspended.");
  if (!user.emailVerifiedAt && identity.emailVerified && identity.email === user.email) {
    // The provider has since verified the address the account was made with: so is the account, from now on.
    await db
      .update(users)
      .set({ emailVerifiedAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(users.id, user.id), isNull(users.emailVerifiedAt)));
  }
  return { kind: "user", userId: user.id, tier: user.tier, sessionId: null, via: "oidc" };
}

async function fromApiKey(c: Context<AppEnv>, key: string): Promise<Principal> {
  const db = c.get("services").db;
  const [row] = await db
    .select({
      id: apiKeys.id,
      orgId: apiKeys.orgId,
      userId: apiKeys.createdBy,
      scopes: apiKeys.scopes,
      expiresAt: apiKeys.expiresAt,
      revokedAt: apiKeys.revokedAt,
      lastUsedAt: apiKeys.lastUsedAt,
      tier: organizations.tier,
      userStatus: users.status,
      userDeletedAt: users.deletedAt,
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.createdBy))
    .innerJoin(organizations, and(eq(organizations.id, apiKeys.orgId), isNull(organizations.deletedAt)))
    .where(eq(apiKeys.keyHash, await sha256Hex(key)));
  if (!row || row.revokedAt) throw unauthorized("INVALID_TOKEN", "The API key is not valid.");
  if (row.expiresAt && row.expiresAt < new Date()) throw unauthorized("TOKEN_EXPIRED", "The API key has expired.");
  if (row.userDeletedAt || row.userStatus !== "active") throw unauthorized("INVALID_TOKEN", "The API key's owner is no longer active.");
  // "Last used" to the minute is enough; it costs a write at most once a minute per key, after the response.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    const update = db.update(apiKeys).set({ lastUsedAt: sql`now()` }).where(eq(apiKeys.id, row.id));
    waitUntil(
      c,
      update.execute().catch(() => {}),
    );
  }
  return { kind: "api_key", userId: row.userId, keyId: row.id, orgId: row.orgId, tier: row.tier, scopes: row.scopes };
}

/** The one route that takes a stream ticket instead of a header: a session's event stream, read by EventSource. */
const EVENTS_STREAM = /^\/api\/v1\/sessions\/([0-9a-f-]{36})\/events$/i;

/** The `?ticket=` of a GET on a session's event stream, with that session's id; anything else carries no ticket. */
function streamTicketOf(c: Context<AppEnv>): { ticket: string; sessionId: string } | null {
  if (c.req.method !== "GET") return null;
  const sessionId = EVENTS_STREAM.exec(c.req.path)?.[1];
  const ticket = c.req.query("ticket");
  return sessionId && ticket ? { ticket, sessionId: sessionId.toLowerCase() } : null;
}

/** The person a stream ticket was issued to, once: it is spent here, and a ticket for another session is refused. */
async function fromStreamTicket(c: Context<AppEnv>, { ticket, sessionId }: { ticket: string; sessionId: string }): Promise<Principal> {
  const stored = ticket.length <= 100 ? await spendStreamTicket(c.get("services").redis, ticket) : null;
  if (!stored || stored.sessionId !== sessionId) {
    throw unauthorized("INVALID_TOKEN", "The stream ticket is unknown, spent, expired or for another session; ask for a new one.");
  }
  // The sign-in behind it must still be live: guarded() checks it with the route's first query, as for an access token.
  if (stored.principal.sessionId) c.set("pendingSession", { userId: stored.principal.userId, sessionId: stored.principal.sessionId });
  return stored.principal;
}

/**
 * Requires credentials (or, with `optional`, checks them only when sent); sets `principal` and
 * `userId`. Read-only API keys may only read. The app identifies every /api call once, up front,
 * so that rate limits and the audit log know the caller; the routers' own checks then cost nothing.
 */
export const authenticate = ({ optional = false }: { optional?: boolean } = {}) =>
  createMiddleware<AppEnv>(async function authenticate(c, next) {
    if (c.get("principal")) return next();
    const header = c.req.header("Authorization");
    const ticket = header ? null : streamTicketOf(c);
    if (ticket) {
      const principal = await fromStreamTicket(c, ticket);
      c.set("principal", principal);
      c.set("userId", principal.userId);
      return next();
    }
    if (!header && optional) return next();
    if (!header) throw unauthorized("UNAUTHORIZED", "Send Authorization: Bearer <access token or API key>.", false);
    // Auth schemes are case-insensitive (RFC 9110 §11.1): "bearer" and "BEARER" are Bearer too.
    const match = /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(header);
    if (!match?.[1]) throw unauthorized("INVALID_TOKEN", "The Authorization header must be: Bearer <token>.");
    const token = match[1];
    let principal: Principal;
    try {
      if (token.startsWith(API_KEY_PREFIX)) principal = await fromApiKey(c, token);
      else {
        const config = c.get("config");
        const external = config.OIDC_ISSUER !== undefined && claimedIssuer(token) === config.OIDC_ISSUER;
        principal = external ? await fromExternalToken(c, token) : await fromAccessToken(c, token);
      }
    } catch (error) {
      if (error instanceof TokenError) throw unauthorized(error.code, error.message);
      throw error;
    }
    if (principal.kind === "api_key" && !principal.scopes.includes("write") && !readsOnly(c.req.method, c.req.path)) {
      throw new ApiError(403, {
        code: "INSUFFICIENT_SCOPE",
        detail: "This API key is read-only; writing needs a key with the write scope.",
        headers: { "WWW-Authenticate": `${BEARER_REALM}, error="insufficient_scope", scope="write"` },
      });
    }
    c.set("principal", principal);
    c.set("userId", principal.userId);
    await next();
  });
