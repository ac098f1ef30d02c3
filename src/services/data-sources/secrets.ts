// Data-source credentials at rest: AES-256-GCM through WebCrypto, each ciphertext naming its key, re-encryption for rotation.
import { base64url, fromBase64url } from "../../lib/crypto.ts";

/** One entry of DATA_SOURCE_KEYS: `kid:base64url(32 bytes)`. */
export interface DataSourceKey {
  kid: string;
  key: Uint8Array<ArrayBuffer>;
}

/** The first key encrypts; every key decrypts (rotation: put a new key first, run `npm run data-sources:rotate`, drop the old). */
export type DataSourceKeys = DataSourceKey[];

const VERSION = "v1";
const encoder = new TextEncoder();
const cryptoKeys = new WeakMap<DataSourceKey, Promise<CryptoKey>>();

const importKey = (entry: DataSourceKey) => {
  let key = cryptoKeys.get(entry);
  if (!key) {
    key = crypto.subtle.importKey("raw", entry.key, "AES-GCM", false, ["encrypt", "decrypt"]);
    cryptoKeys.set(entry, key);
  }
  return key;
};

/** Parses `kid:base64url[,kid:base64url…]`; a problem for each bad entry (never its value). */
export function parseDataSourceKeys(value: string): { keys: DataSourceKeys; problems: string[] } {
  const problems: string[] = [];
  const keys: DataSourceKeys = [];
  const entries = value
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) problems.push("needs at least one kid:key");
  for (const [i, entry] of entries.entries()) {
    const at = entry.indexOf(":");
    const kid = at < 0 ? "" : entry.slice(0, at);
    const encoded = at < 0 ? entry : entry.slice(at + 1);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(kid)) problems.push(`key ${i + 1} needs a kid of letters, digits, . _ -`);
    let key: Uint8Array<ArrayBuffer> | undefined;
    try {
      if (/^[A-Za-z0-9_-]+={0,2}$/.test(encoded)) key = new Uint8Array(fromBase64url(encoded.replace(/=+$/, "")));
    } catch {
      key = undefined;
    }
    if (!key || key.length !== 32)
      problems.push(`key ${i + 1} must be 32 random bytes, base64url-encoded (openssl rand -base64 32 | tr '+/' '-_')`);
    else if (new Set(key).size < 8) problems.push(`key ${i + 1} is not random (a sample or placeholder key)`);
    else keys.push({ kid, key });
  }
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) problems.push("key ids must be distinct");
  return { keys, problems };
}

/** The associated data binds a ciphertext to its record: one source's secret cannot be pasted into another. */
const aad = (recordId: string) => encoder.encode(`data-source:${recordId}`);

/** `v1.<kid>.<iv>.<ciphertext+tag>` under the first key. */
export async function encryptSecret(keys: DataSourceKeys, recordId: string, plaintext: string): Promise<string> {
  const entry = keys[0];
  if (!entry) throw new Error("no data-source key configured");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: aad(recordId) },
    await importKey(entry),
    encoder.encode(plaintext),
  );
  return [VERSION, entry.kid, base64url(iv), base64url(new Uint8Array(sealed))].join(".");
}

/** The key id a ciphertext was sealed with (what rotation looks for). */
export const keyIdOf = (ciphertext: string) => ciphertext.split(".")[1] ?? "";

export class SecretUnreadable extends Error {
  override name = "SecretUnreadable";
}

export async function decryptSecret(keys: DataSourceKeys, recordId: string, ciphertext: string): Promise<string> {
  const [version, kid, iv, sealed] = ciphertext.split(".");
  if (version !== VERSION || !iv || !sealed) throw new SecretUnreadable("not a data-source ciphertext");
  const entry = keys.find((candidate) => candidate.kid === kid);
  if (!entry) throw new SecretUnreadable(`no key "${kid}" in DATA_SOURCE_KEYS`);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: new Uint8Array(fromBase64url(iv)), additionalData: aad(recordId) },
      await importKey(entry),
      new Uint8Array(fromBase64url(sealed)),
    );
    return new TextDecoder().decode(plain);
  } catch {
    throw new SecretUnreadable(`the secret does not open with key "${kid}"`);
  }
}

/** A ciphertext under the current (first) key: unchanged if it already is, else opened and sealed again. */
export async function reencryptSecret(
  keys: DataSourceKeys,
  recordId: string,
  ciphertext: string,
): Promise<{ ciphertext: string; changed: boolean }> {
  if (keyIdOf(ciphertext) === keys[0]?.kid) return { ciphertext, changed: false };
  return { ciphertext: await encryptSecret(keys, recordId, await decryptSecret(keys, recordId, ciphertext)), changed: true };
}
