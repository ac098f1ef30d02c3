// Accounts and sessions: the statements that provision a user (with a personal organization) and open a session.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { authRefreshTokens, authSessions } from "../db/schema.ts";
import { randomSecret } from "../lib/crypto.ts";
import { newRefreshToken } from "./tokens.ts";

export interface NewUser {
  email: string;
  name: string | null;
  passwordHash: string | null;
  externalIssuer?: string;
  externalSubject?: string;
  /** The address is proven already (an identity provider's `email_verified: true`); otherwise a link must prove it. */
  emailVerified?: boolean;
}

const slugify = (text: string) =>
  text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40) || "workspace";

/** A slug with a random tail: unique without a round trip to check. */
export const uniqueSlug = (base: string) =>
  `${slugify(base)}-${randomSecret(6)
    .toLowerCase()
    .replaceAll(/[^a-z0-9]/g, "")
    .slice(0, 6)
    .padEnd(6, "0")}`;

/**
 * One batch that creates the user and a personal organization they own. Nothing else: invitations to
 * the address are accepted explicitly, by a verified account holding the invitation's token. If the
 * address (or external identity) already has an account, every statement is a no-op: the caller
 * learns nothing from timing or errors.
 */
export function provisionUser(db: Database, user: NewUser) {
  const userId = crypto.randomUUID();
  const orgId = crypto.randomUUID();
  const local = user.email.split("@")[0] ?? "me";
  const userExists = sql`EXISTS (SELECT 1 FROM users WHERE id = ${userId})`;
  const statements = [
    db.execute(sql`
      INSERT INTO users (id, email, name, password_hash, external_issuer, external_subject, email_verified_at)
      VALUES (${userId}, ${user.email}, ${user.name}, ${user.passwordHash}, ${user.externalIssuer ?? null}, ${user.externalSubject ?? null},
              ${user.emailVerified ? sql`now()` : null})
      ON CONFLICT DO NOTHING`),
    db.execute(sql`
      INSERT INTO organizations (id, slug, name, personal, created_by)
      SELECT ${orgId}, ${uniqueSlug(local)}, ${`${user.name ?? local}'s workspace`}, true, ${userId} WHERE ${userExists}`),
    db.execute(sql`INSERT INTO org_members (org_id, user_id, role) SELECT ${orgId}, ${userId}, 'owner' WHERE ${userExists}`),
    db.execute<{ created: number }>(sql`SELECT (${userExists})::int AS created`),
  ] as const;
  return { userId, statements };
}

export interface SessionContext {
  userAgent: string | null;
  ip: string | null;
}

/** The statements that open a session and issue its first refresh token. */
export async function openSession(db: Database, userId: string, ttlDays: number, context: SessionContext) {
  const sessionId = crypto.randomUUID();
  const expiresAt = new Date(Date.now() + ttlDays * 86_400_000);
  const refresh = await newRefreshToken();
  const statements = [
    db.insert(authSessions).values({
      id: sessionId,
      userId,
      expiresAt,
      userAgent: context.userAgent?.slice(0, 512) ?? null,
      ip: context.ip,
    }),
    db.insert(authRefreshTokens).values({ tokenHash: refresh.hash, sessionId }),
  ] as const;
  return { sessionId, expiresAt, refreshToken: refresh.token, statements };
}
