// Key rotation: re-seals every data source's credentials, every TOTP secret and every webhook signing secret under an older DATA_SOURCE_KEYS key with the first one.
import { and, eq, ne } from "drizzle-orm";
import type { NeonHttpDatabase } from "drizzle-orm/neon-http";
import { dataSources, userTotp, webhookEndpoints } from "../../db/schema.ts";
import { secretRecord } from "../webhooks/secret-record.ts";
import { totpRecordId } from "../mfa/record-id.ts";
import type * as schema from "../../db/schema.ts";
import { type DataSourceKeys, keyIdOf, reencryptSecret } from "./secrets.ts";

export interface RotationReport {
  rotated: number;
  /** Sealed with a key no longer configured (or damaged): left as they are, by id. */
  unreadable: string[];
}

interface SealedRow {
  id: string;
  secret: string;
}

interface SealedRows {
  /** Up to `limit` rows not under key `current`, skipping the ids in `skip`. */
  read(current: string, skip: string[], limit: number): Promise<SealedRow[]>;
  /** Stores `ciphertext` if the row still holds `row.secret`; how many rows changed. */
  write(row: SealedRow, ciphertext: string): Promise<number>;
  /** What a row's ciphertext is bound to (its associated data). */
  recordId(id: string): string;
}

/**
 * Re-seals in batches of `batchSize`. Each update applies only if the row still holds the
 * ciphertext that was read, so a concurrent PATCH wins and is not overwritten. Safe to rerun.
 */
async function rotate(rows: SealedRows, keys: DataSourceKeys, batchSize: number): Promise<RotationReport> {
  const current = keys[0]?.kid;
  if (!current) throw new Error("DATA_SOURCE_KEYS has no key");
  const report: RotationReport = { rotated: 0, unreadable: [] };
  for (;;) {
    const batch = await rows.read(current, report.unreadable, batchSize);
    if (batch.length === 0) return report;
    for (const row of batch) {
      try {
        const { ciphertext } = await reencryptSecret(keys, rows.recordId(row.id), row.secret);
        report.rotated += await rows.write(row, ciphertext);
      } catch {
        report.unreadable.push(row.id);
      }
    }
  }
}

type Db = NeonHttpDatabase<typeof schema>;
const NO_ID = "00000000-0000-0000-0000-000000000000";

/** Every data source's credentials. */
export const rotateDataSourceKeys = (db: Db, keys: DataSourceKeys, { batchSize = 100 }: { batchSize?: number } = {}) =>
  rotate(
    {
      read: (current, skip, limit) =>
        db
          .select({ id: dataSources.id, secret: dataSources.secret })
          .from(dataSources)
          .where(and(ne(dataSources.keyId, current), ...(skip.length > 0 ? skip : [NO_ID]).map((id) => ne(dataSources.id, id))))
          .limit(limit),
      write: async (row, ciphertext) =>
        (
          await db
            .update(dataSources)
            .set({ secret: ciphertext, keyId: keyIdOf(ciphertext) })
            .where(and(eq(dataSources.id, row.id), eq(dataSources.secret, row.secret)))
            .returning({ id: dataSources.id })
        ).length,
      recordId: (id) => id,
    },
    keys,
    batchSize,
  );

/** Every TOTP secret (sealed with the same ring; see src/services/mfa/factors.ts). */
export const rotateTotpSecrets = (db: Db, keys: DataSourceKeys, { batchSize = 100 }: { batchSize?: number } = {}) =>
  rotate(
    {
      read: (current, skip, limit) =>
        db
          .select({ id: userTotp.userId, secret: userTotp.secret })
          .from(userTotp)
          .where(and(ne(userTotp.keyId, current), ...(skip.length > 0 ? skip : [NO_ID]).map((id) => ne(userTotp.userId, id))))
          .limit(limit),
      write: async (row, ciphertext) =>
        (
          await db
            .update(userTotp)
            .set({ secret: ciphertext, keyId: keyIdOf(ciphertext) })
            .where(and(eq(userTotp.userId, row.id), eq(userTotp.secret, row.secret)))
            .returning({ id: userTotp.userId })
        ).length,
      recordId: totpRecordId,
    },
    keys,
    batchSize,
  );

/** Every webhook endpoint's current signing secret (a rotated-out one only signs through its grace period, and is skipped
 *  once its key is gone: src/services/webhooks/deliver.ts). */
export const rotateWebhookSecrets = (db: Db, keys: DataSourceKeys, { batchSize = 100 }: { batchSize?: number } = {}) =>
  rotate(
    {
      read: (current, skip, limit) =>
        db
          .select({ id: webhookEndpoints.id, secret: webhookEndpoints.secret })
          .from(webhookEndpoints)
          .where(and(ne(webhookEndpoints.keyId, current), ...(skip.length > 0 ? skip : [NO_ID]).map((id) => ne(webhookEndpoints.id, id))))
          .limit(limit),
      write: async (row, ciphertext) =>
        (
          await db
            .update(webhookEndpoints)
            .set({ secret: ciphertext, keyId: keyIdOf(ciphertext) })
            .where(and(eq(webhookEndpoints.id, row.id), eq(webhookEndpoints.secret, row.secret)))
            .returning({ id: webhookEndpoints.id })
        ).length,
      recordId: secretRecord,
    },
    keys,
    batchSize,
  );
