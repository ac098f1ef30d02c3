// TOTP secrets ride the DATA_SOURCE_KEYS rotation: under an older key they are re-sealed with the first, bound to their account.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { users, userTotp } from "../../../src/db/schema.ts";
import { rotateTotpSecrets } from "../../../src/services/data-sources/rotate.ts";
import { decryptSecret, encryptSecret, keyIdOf, parseDataSourceKeys } from "../../../src/services/data-sources/secrets.ts";
import { totpRecordId } from "../../../src/services/mfa/record-id.ts";

describe("rotateTotpSecrets against the test database", () => {
  it("re-seals secrets under an older key with the first one, and a second run finds nothing", async () => {
    const db = createDb(env);
    const keys = parseDataSourceKeys(env.DATA_SOURCE_KEYS).keys;
    expect(keys.length).toBeGreaterThanOrEqual(2);
    const [current, older] = [keys[0]!, keys[1]!];
    const userId = crypto.randomUUID();
    await db.insert(users).values({ id: userId, email: `rotate-${userId}@example.com` });
    const sealed = await encryptSecret([older], totpRecordId(userId), "JBSWY3DPEHPK3PXP");
    await db.insert(userTotp).values({ userId, secret: sealed, keyId: keyIdOf(sealed) });

    const report = await rotateTotpSecrets(db, keys, { batchSize: 1 });
    expect(report.rotated).toBeGreaterThanOrEqual(1);
    expect(report.unreadable).not.toContain(userId);
    const [row] = await db.select().from(userTotp).where(eq(userTotp.userId, userId));
    expect(row!.keyId).toBe(current.kid);
    expect(await decryptSecret([current], totpRecordId(userId), row!.secret)).toBe("JBSWY3DPEHPK3PXP");
    // Bound to its account: the same ciphertext does not open as another user's secret.
    await expect(decryptSecret([current], totpRecordId(crypto.randomUUID()), row!.secret)).rejects.toThrow();
    expect((await rotateTotpSecrets(db, keys)).unreadable).not.toContain(userId);
    await db.delete(users).where(eq(users.id, userId));
  });
});
