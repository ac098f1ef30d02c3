// Email verification tokens: issued at sign-up and on request, single use, expiring, kept only as SHA-256 hashes.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { randomSecret, sha256Hex } from "../lib/crypto.ts";

export const VERIFICATION_TOKEN_PREFIX = "dcv_";

export async function newVerificationToken(ttlHours: number) {
  const token = `${VERIFICATION_TOKEN_PREFIX}${randomSecret(32)}`;
  return { token, hash: await sha256Hex(token), expiresAt: new Date(Date.now() + ttlHours * 3_600_000) };
}

type Issued = Awaited<ReturnType<typeof newVerificationToken>>;

/** The token for user `userId` at `email`, stored only if that user exists (sign-up's batch may have created nobody). */
export const storeForNewUser = (db: Database, userId: string, email: string, issued: Issued) =>
  db.execute(sql`
    INSERT INTO email_verification_tokens (token_hash, user_id, email, expires_at)
    SELECT ${issued.hash}, ${userId}, ${email}, ${issued.expiresAt.toISOString()}::timestamptz
    WHERE EXISTS (SELECT 1 FROM users WHERE id = ${userId})`);

/**
 * A fresh token for the live, unverified account at `email`, if there is one: one statement either
 * way, so a registered address and an unknown one cost the same.
 */
export async function storeForAddress(db: Database, email: string, issued: Issued): Promise<boolean> {
  const result = await db.execute(sql`
    INSERT INTO email_verification_tokens (token_hash, user_id, email, expires_at)
    SELECT ${issued.hash}, u.id, u.email, ${issued.expiresAt.toISOString()}::timestamptz FROM users u
    WHERE u.email = ${email} AND u.email_verified_at IS NULL AND u.deleted_at IS NULL AND u.status = 'active'
    RETURNING user_id`);
  return result.rows.length > 0;
}

export type VerifyOutcome = "verified" | "invalid" | "expired" | "used";

/**
 * Spends `token` and marks its address verified, in one statement (two requests with one token: one
 * wins). The account's other links are deleted once it is verified. Otherwise says why not.
 */
export async function verifyEmailToken(db: Database, token: string): Promise<{ outcome: VerifyOutcome; userId?: string }> {
  const hash = await sha256Hex(token);
  const result = await db.execute<{ user_id: string | null; expires_at: string | null; used_at: string | null; verified: number }>(sql`
    WITH spent AS (
      UPDATE email_verification_tokens SET used_at = now()
      WHERE token_hash = ${hash} AND used_at IS NULL AND expires_at > now()
      RETURNING user_id, email
    ), verified AS (
      UPDATE users u SET email_verified_at = coalesce(u.email_verified_at, now()), updated_at = now()
      FROM spent WHERE u.id = spent.user_id AND u.email = spent.email AND u.deleted_at IS NULL
      RETURNING u.id
    ), others AS (
      DELETE FROM email_verification_tokens t USING verified WHERE t.user_id = verified.id AND t.token_hash <> ${hash}
    )
    SELECT t.user_id, t.expires_at, t.used_at, (SELECT count(*) FROM verified)::int AS verified
    FROM (SELECT 1) one LEFT JOIN email_verification_tokens t ON t.token_hash = ${hash}`);
  const row = result.rows[0];
  if (row && Number(row.verified) > 0) return { outcome: "verified", userId: row.user_id ?? undefined };
  // The statement's snapshot shows the row as it was before this statement spent it.
  if (!row?.user_id) return { outcome: "invalid" };
  if (row.used_at) return { outcome: "used" };
  if (row.expires_at && new Date(row.expires_at) <= new Date()) return { outcome: "expired" };
  // Spent just now but the account is gone (deleted) or no longer has this address.
  return { outcome: "invalid" };
}
