// Credential sealing (unit, inside workerd): AES-GCM round trip, key ids, tampering, and key rotation against the test database.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { dataSources, organizations } from "../../../src/db/schema.ts";
import { rotateDataSourceKeys } from "../../../src/services/data-sources/rotate.ts";
import { decryptSecret, encryptSecret, keyIdOf, parseDataSourceKeys, reencryptSecret } from "../../../src/services/data-sources/secrets.ts";

const key = (kid: string) =>
  `${kid}:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "")}`;
const keysOf = (value: string) => parseDataSourceKeys(value).keys;

describe("sealing credentials", () => {
  it("opens what it sealed, under the first key, and names that key in the ciphertext", async () => {
    const keys = keysOf(`${key("new")},${key("old")}`);
    const sealed = await encryptSecret(keys, "rec-1", "postgresql://u:s3cret@h/db");
    expect(sealed).toMatch(/^v1\.new\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain("s3cret");
    expect(keyIdOf(sealed)).toBe("new");
    expect(await decryptSecret(keys, "rec-1", sealed)).toBe("postgresql://u:s3cret@h/db");
    // A fresh IV every time: the same secret never seals to the same text.
    expect(await encryptSecret(keys, "rec-1", "postgresql://u:s3cret@h/db")).not.toBe(sealed);
  });

  it("refuses another record's ciphertext, a tampered one and an unknown key", async () => {
    const keys = keysOf(key("k1"));
    const sealed = await encryptSecret(keys, "rec-1", "token");
    await expect(decryptSecret(keys, "rec-2", sealed)).rejects.toThrow(/does not open/);
    const [v, kid, iv, body] = sealed.split(".");
    // The second-to-last character changes for sure (it used to be compared with the last one, so 1 run in 64 changed nothing).
    const flipped = `${v}.${kid}.${iv}.${body!.slice(0, -2)}${body!.at(-2) === "A" ? "B" : "A"}${body!.slice(-1)}`;
    await expect(decryptSecret(keys, "rec-1", flipped)).rejects.toThrow(/does not open/);
    await expect(decryptSecret(keysOf(key("k9")), "rec-1", sealed)).rejects.toThrow(/no key "k1"/);
  });

  it("re-seals under the new first key, leaving current ones alone", async () => {
    const old = keysOf(key("old"));
    const rotated = [...keysOf(key("new")), ...old];
    const sealed = await encryptSecret(old, "rec-1", "secret");
    const again = await reencryptSecret(rotated, "rec-1", sealed);
    expect(again.changed).toBe(true);
    expect(keyIdOf(again.ciphertext)).toBe("new");
    expect(await decryptSecret(rotated, "rec-1", again.ciphertext)).toBe("secret");
    expect(await reencryptSecret(rotated, "rec-1", again.ciphertext)).toEqual({ ciphertext: again.ciphertext, changed: false });
  });

  it.each([
    ["too short", "k1:c2hvcnQ"],
    ["not base64url", "k1:!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"],
    ["all zeros", `k1:${"A".repeat(43)}`],
    ["no kid", "c2hvcnQ"],
  ])("refuses a key that is %s", (_, value) => {
    expect(parseDataSourceKeys(value).problems.length).toBeGreaterThan(0);
  });
});

describe("rotateDataSourceKeys against the test database", () => {
  it("moves every record under an old key to the first key and can be run again", async () => {
    const db = createDb(env);
    const keys = parseDataSourceKeys(env.DATA_SOURCE_KEYS).keys;
    expect(keys.length).toBeGreaterThanOrEqual(2);
    const [current, older] = [keys[0]!, keys[1]!];
    const orgId = crypto.randomUUID();
    await db.insert(organizations).values({ id: orgId, slug: `rot-${orgId.slice(0, 8)}`, name: "Rotation" });
    const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const lost = crypto.randomUUID();
    for (const [i, id] of ids.entries()) {
      const secret = await encryptSecret(
        [older],
        id,
        JSON.stringify({ kind: "redis", redis: { url: "https://r.example", token: `t-${i}` } }),
      );
      await db.insert(dataSources).values({ id, orgId, name: `old-${i}`, kind: "redis", display: {}, secret, keyId: keyIdOf(secret) });
    }
    // Sealed with a key nobody has any more: reported, left alone.
    const orphan = await encryptSecret(keysOf(key("gone")), lost, "{}");
    await db.insert(dataSources).values({ id: lost, orgId, name: "orphan", kind: "redis", display: {}, secret: orphan, keyId: "gone" });

    const report = await rotateDataSourceKeys(db, keys, { batchSize: 2 });
    expect(report.rotated).toBeGreaterThanOrEqual(3);
    expect(report.unreadable).toContain(lost);
    const rows = await db.select().from(dataSources).where(eq(dataSources.orgId, orgId));
    for (const row of rows.filter((r) => r.id !== lost)) {
      expect(row.keyId).toBe(current.kid);
      expect(keyIdOf(row.secret)).toBe(current.kid);
      expect(JSON.parse(await decryptSecret([current], row.id, row.secret)).redis.token).toMatch(/^t-\d$/);
    }
    expect(rows.find((r) => r.id === lost)?.secret).toBe(orphan);
    const second = await rotateDataSourceKeys(db, keys);
    expect(second.rotated).toBe(0);
    await db.delete(organizations).where(eq(organizations.id, orgId));
  });
});
