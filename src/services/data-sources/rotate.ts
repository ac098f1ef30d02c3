// Key rotation: re-seals every data source whose credentials are under an older DATA_SOURCE_KEYS key with the first one.
import { and, eq, ne } from "drizzle-orm";
import type { NeonHttpDatabase } from "drizzle-orm/neon-http";
import { dataSources } from "../../db/schema.ts";
import type * as schema from "../../db/schema.ts";
import { type DataSourceKeys, keyIdOf, reencryptSecret } from "./secrets.ts";

export interface RotationReport {
  rotated: number;
  /** Sealed with a key no longer configured (or damaged): left as they are, by id. */
  unreadable: string[];
}

/**
 * Re-seals in batches of `batchSize`. Each update applies only if the row still holds the
 * ciphertext that was read, so a concurrent PATCH wins and is not overwritten. Safe to rerun.
 */
export async function rotateDataSourceKeys(db: NeonHttpDatabase<typeof schema>, keys: DataSourceKeys, { batchSize = 100 }: { batchSize?: number } = {}): Promise<RotationReport> {
  const current = keys[0]?.kid;
  if (!current) throw new Error("DATA_SOURCE_KEYS has no key");
  const report: RotationReport = { rotated: 0, unreadable: [] };
  for (;;) {
    const skip = report.unreadable.length > 0 ? report.unreadable : ["00000000-0000-0000-0000-000000000000"];
    const rows = await db
      .select({ id: dataSources.id, secret: dataSources.secret })
      .from(dataSources)
      .where(and(ne(dataSources.keyId, current), ...skip.map((id) => ne(dataSources.id, id))))
      .limit(batchSize);
    if (rows.length === 0) return report;
    for (const row of rows) {
      try {
        const { ciphertext } = await reencryptSecret(keys, row.id, row.secret);
        const updated = await db
          .update(dataSources)
          .set({ secret: ciphertext, keyId: keyIdOf(ciphertext) })
          .where(and(eq(dataSources.id, row.id), eq(dataSources.secret, row.secret)))
          .returning({ id: dataSources.id });
        report.rotated += updated.length;
      } catch {
        report.unreadable.push(row.id);
      }
    }
  }
}
