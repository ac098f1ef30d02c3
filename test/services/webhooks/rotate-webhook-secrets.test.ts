// Webhook signing secrets ride the DATA_SOURCE_KEYS rotation: under an older key they are re-sealed with the first, bound to their endpoint.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { organizations, webhookEndpoints } from "../../../src/db/schema.ts";
import { rotateWebhookSecrets } from "../../../src/services/data-sources/rotate.ts";
import { decryptSecret, encryptSecret, keyIdOf, parseDataSourceKeys } from "../../../src/services/data-sources/secrets.ts";
import { secretRecord } from "../../../src/services/webhooks/secret-record.ts";
import { person } from "../../support/harness.ts";

describe("rotateWebhookSecrets against the test database", () => {
  it("re-seals secrets under an older key with the first one, bound to their endpoint", async () => {
    const db = createDb(env);
    const keys = parseDataSourceKeys(env.DATA_SOURCE_KEYS).keys;
    const [current, older] = [keys[0]!, keys[1]!];
    const owner = await person("wh-rotate");
    const [org] = await db.select({ id: organizations.id }).from(organizations).where(eq(organizations.slug, owner.personalOrg));
    const id = crypto.randomUUID();
    const sealed = await encryptSecret([older], secretRecord(id), "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMw==");
    await db.insert(webhookEndpoints).values({
      id,
      orgId: org!.id,
      url: "https://hooks.example.com/x",
      events: ["dataset.ready"],
      secret: sealed,
      keyId: keyIdOf(sealed),
    });

    const report = await rotateWebhookSecrets(db, keys, { batchSize: 1 });
    expect(report.rotated).toBeGreaterThanOrEqual(1);
    expect(report.unreadable).not.toContain(id);
    const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    expect(row!.keyId).toBe(current.kid);
    expect(await decryptSecret([current], secretRecord(id), row!.secret)).toBe("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMw==");
    await expect(decryptSecret([current], secretRecord(crypto.randomUUID()), row!.secret)).rejects.toThrow();
  });
});
