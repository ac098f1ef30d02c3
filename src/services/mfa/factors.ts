// A user's second factor: the TOTP enrolment, its recovery codes, and the check of a code (each code works once).
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { userRecoveryCodes, userTotp } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import { sha256Hex } from "../../lib/crypto.ts";
import { decryptSecret, encryptSecret, keyIdOf } from "../data-sources/secrets.ts";
import { totpRecordId } from "./record-id.ts";
import { base32Encode, matchingStep } from "./totp.ts";

export const RECOVERY_CODE_COUNT = 10;

export const sealTotpSecret = (config: Config, userId: string, secret: string) =>
  encryptSecret(config.DATA_SOURCE_KEYS, totpRecordId(userId), secret);
export const openTotpSecret = (config: Config, userId: string, ciphertext: string) =>
  decryptSecret(config.DATA_SOURCE_KEYS, totpRecordId(userId), ciphertext);

/** Insert or replace the pending secret, never a confirmed one (that would silently switch off the factor's codes). */
export const upsertPending = (db: Database, userId: string, sealed: string) =>
  db
    .insert(userTotp)
    .values({ userId, secret: sealed, keyId: keyIdOf(sealed) })
    .onConflictDoUpdate({
      target: userTotp.userId,
      set: { secret: sealed, keyId: keyIdOf(sealed), lastStep: null, createdAt: sql`now()` },
      setWhere: isNull(userTotp.confirmedAt),
    })
    .returning({ userId: userTotp.userId });

export type CodeCheck = "accepted" | "invalid" | "reused";

/**
 * Whether `code` is the TOTP code of now (± one step) for the user's secret, spending its step: the update succeeds only for a
 * step after the last one accepted, so a code replayed within its window (or raced by a second request) is refused.
 */
export async function spendTotpCode(
  db: Database,
  config: Config,
  userId: string,
  code: string,
  { confirmed }: { confirmed: boolean },
): Promise<CodeCheck> {
  const [row] = await db.select().from(userTotp).where(eq(userTotp.userId, userId));
  if (!row || (row.confirmedAt !== null) !== confirmed) return "invalid";
  const step = await matchingStep(await openTotpSecret(config, userId, row.secret), code, Date.now());
  if (step === null) return "invalid";
  const spent = await db
    .update(userTotp)
    .set({ lastStep: step, ...(confirmed ? {} : { confirmedAt: sql`now()` }) })
    .where(
      and(
        eq(userTotp.userId, userId),
        eq(userTotp.secret, row.secret),
        sql`(${userTotp.lastStep} IS NULL OR ${userTotp.lastStep} < ${step})`,
      ),
    )
    .returning({ userId: userTotp.userId });
  return spent.length > 0 ? "accepted" : "reused";
}

/** `abcde-fghij`: 50 random bits in a form people can read out and type. */
const newRecoveryCode = () => {
  const text = base32Encode(crypto.getRandomValues(new Uint8Array(7)))
    .slice(0, 10)
    .toLowerCase();
  return `${text.slice(0, 5)}-${text.slice(5)}`;
};

/** Case, spaces and hyphens do not matter when a code is typed back. */
export const normalizeRecoveryCode = (code: string) => code.toLowerCase().replaceAll(/[\s-]/g, "");

const hashRecoveryCode = (code: string) => sha256Hex(`recovery:${normalizeRecoveryCode(code)}`);

/** Ten new codes, and the statements that replace the user's old set with them. */
export async function newRecoveryCodes(db: Database, userId: string) {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const hashes = await Promise.all(codes.map(hashRecoveryCode));
  return {
    codes,
    statements: [
      db.delete(userRecoveryCodes).where(eq(userRecoveryCodes.userId, userId)),
      db.insert(userRecoveryCodes).values(hashes.map((codeHash) => ({ codeHash, userId }))),
    ] as const,
  };
}

/** Spends one recovery code of the user's; false when it is not one of theirs or was used. */
export async function spendRecoveryCode(db: Database, userId: string, code: string): Promise<boolean> {
  const spent = await db
    .update(userRecoveryCodes)
    .set({ usedAt: sql`now()` })
    .where(
      and(
        eq(userRecoveryCodes.codeHash, await hashRecoveryCode(code)),
        eq(userRecoveryCodes.userId, userId),
        isNull(userRecoveryCodes.usedAt),
      ),
    )
    .returning({ codeHash: userRecoveryCodes.codeHash });
  return spent.length > 0;
}

/** The user's factor and how many recovery codes are left, as a query (it can ride in a guarded batch). */
export const mfaStatusQuery = (db: Database, userId: string) =>
  db
    .select({
      confirmedAt: userTotp.confirmedAt,
      left: sql<number>`(SELECT count(*)::int FROM user_recovery_codes r WHERE r.user_id = ${userId} AND r.used_at IS NULL)`,
    })
    .from(userTotp)
    .where(eq(userTotp.userId, userId));

export interface MfaStatus {
  enabled: boolean;
  pending: boolean;
  confirmedAt: Date | null;
  recoveryCodesLeft: number;
}

export const mfaStatusOf = (rows: { confirmedAt: Date | null; left: number }[]): MfaStatus => {
  const row = rows[0];
  return {
    enabled: Boolean(row?.confirmedAt),
    pending: Boolean(row && !row.confirmedAt),
    confirmedAt: row?.confirmedAt ?? null,
    recoveryCodesLeft: row ? Number(row.left) : 0,
  };
};

/** The statements that switch the factor off: the secret and every recovery code go. */
export const removeFactor = (db: Database, userId: string) =>
  [
    db.delete(userRecoveryCodes).where(eq(userRecoveryCodes.userId, userId)),
    db.delete(userTotp).where(eq(userTotp.userId, userId)),
  ] as const;
