// TOTP (RFC 6238) on WebCrypto: HMAC-SHA-1 over 30-second steps, six digits, as every authenticator app expects.
import { timingSafeEqual } from "../../lib/crypto.ts";

const encoder = new TextEncoder();

export const TOTP_PERIOD_SECONDS = 30 as const;
export const TOTP_DIGITS = 6 as const;
/** Codes one step either side of now are accepted: clocks drift and people type slowly. */
export const TOTP_WINDOW = 1;
/** The name authenticator apps list the account under. */
export const TOTP_ISSUER = "Datacrafted";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding: the form `otpauth://` URIs and authenticator apps use. */
export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Uint8Array<ArrayBuffer> {
  const clean = text.toUpperCase().replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error("not base32");
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out[at++] = (value >>> (bits - 8)) & 255;
      bits -= 8;
    }
  }
  return out;
}

/** A new 160-bit secret (RFC 4226 recommends the HMAC's output length). */
export const newTotpSecret = (): string => base32Encode(crypto.getRandomValues(new Uint8Array(20)));

/** The time step of a moment (ms since the epoch). */
export const stepAt = (nowMs: number): number => Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);

/** RFC 4226 HOTP of one counter value, `digits` long. */
export async function hotp(
  secret: Uint8Array<ArrayBuffer>,
  counter: number,
  digits: number = TOTP_DIGITS,
  hash: "SHA-1" | "SHA-256" | "SHA-512" = "SHA-1",
): Promise<string> {
  const message = new ArrayBuffer(8);
  const view = new DataView(message);
  view.setUint32(0, Math.floor(counter / 2 ** 32));
  view.setUint32(4, counter >>> 0);
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  // Dynamic truncation (RFC 4226 §5.3).
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/**
 * The step whose code `code` is, within the window around `nowMs`, or null. The caller refuses a step at or before the
 * last one it accepted, so a code works once.
 */
export async function matchingStep(secretBase32: string, code: string, nowMs: number): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const secret = base32Decode(secretBase32);
  const now = stepAt(nowMs);
  let found: number | null = null;
  // Every candidate is computed and compared in constant time, whichever matches.
  for (let step = now - TOTP_WINDOW; step <= now + TOTP_WINDOW; step++) {
    if (timingSafeEqual(encoder.encode(await hotp(secret, step)), encoder.encode(code)) && found === null) found = step;
  }
  return found;
}

/** The `otpauth://` URI an authenticator app scans (Google's Key Uri Format). */
export function otpauthUri(issuer: string, account: string, secretBase32: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = new URLSearchParams({
    secret: secretBase32,
    issuer,
    algorithm: "SHA1",
    digits: String(TOTP_DIGITS),
    period: String(TOTP_PERIOD_SECONDS),
  });
  return `otpauth://totp/${label}?${query}`;
}
