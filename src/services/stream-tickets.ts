// Stream tickets: a short-lived, single-use credential for one session's event stream, for clients (EventSource) that
// cannot send Authorization. Only its hash is kept, in Redis, with the signed-in person it stands for.
import type { Redis } from "@upstash/redis/cloudflare";
import { randomSecret, sha256Hex } from "../lib/crypto.ts";
import type { Principal } from "../lib/types.ts";

export const STREAM_TICKET_PREFIX = "dcst_";
/** Long enough to open a stream right after asking for it, short enough that a logged URL is worth nothing. */
export const STREAM_TICKET_TTL_SECONDS = 60;

type Person = Extract<Principal, { kind: "user" }>;

interface Stored {
  sessionId: string;
  principal: Person;
}

const keyOf = async (ticket: string) => `stream-ticket:${await sha256Hex(ticket)}`;

/** A new ticket for `principal` to follow analysis session `sessionId`. */
export async function issueStreamTicket(redis: Redis, sessionId: string, principal: Person): Promise<{ ticket: string; expiresAt: Date }> {
  const ticket = `${STREAM_TICKET_PREFIX}${randomSecret(32)}`;
  const stored: Stored = { sessionId, principal };
  await redis.set(await keyOf(ticket), JSON.stringify(stored), { ex: STREAM_TICKET_TTL_SECONDS });
  return { ticket, expiresAt: new Date(Date.now() + STREAM_TICKET_TTL_SECONDS * 1000) };
}

/** Spends `ticket` (GETDEL: a second use, even a concurrent one, finds nothing) and answers what it stood for. */
export async function spendStreamTicket(redis: Redis, ticket: string): Promise<Stored | null> {
  const value = await redis.getdel<Stored | string>(await keyOf(ticket));
  if (value === null) return null;
  // The client parses JSON values itself; a string means it did not.
  return typeof value === "string" ? (JSON.parse(value) as Stored) : value;
}
