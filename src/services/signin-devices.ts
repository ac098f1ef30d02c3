// Devices that signed in before: a random cookie, stored only as a hash per address, that gets its own sign-in bucket.
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { randomSecret, sha256Hex } from "../lib/crypto.ts";
import { describeError } from "../lib/logger.ts";
import type { AppEnv } from "../lib/types.ts";

/** `__Host-dc_device`: the prefix makes browsers insist on Secure, Path=/ and no Domain. */
const COOKIE = "dc_device";
const TTL_SECONDS = 90 * 24 * 60 * 60;
const WELL_FORMED = /^[A-Za-z0-9_-]{43}$/;

const slotOf = async (email: string, token: string) => `signin-device:${await sha256Hex(`${email}\n${token}`)}`;

/**
 * The bucket of the per-address sign-in limit this request spends from: a device that signed in to this address
 * before has one of its own (so a stranger guessing the password cannot lock the owner out), everyone else shares
 * the address's. Only a hash of the cookie, bound to the address, is stored; a forged or foreign cookie is no one's.
 */
export async function signinBucket(c: Context<AppEnv>, email: string): Promise<string> {
  const token = getCookie(c, COOKIE, "host");
  if (!token || !WELL_FORMED.test(token)) return `email:${email}`;
  try {
    const slot = await slotOf(email, token);
    if ((await c.get("services").redis.exists(slot)) === 1) return `email:${email}:device:${slot.slice(-16)}`;
  } catch (error) {
    // Redis down: no device is known, and the shared limit (which then fails open or closed as configured) applies.
    c.get("logger").warn("sign-in device unknown", describeError(error));
  }
  return `email:${email}`;
}

/** After a successful sign-in: this device is known to this address for 90 days (renewed by each sign-in). */
export async function rememberDevice(c: Context<AppEnv>, email: string): Promise<void> {
  const current = getCookie(c, COOKIE, "host");
  const token = current && WELL_FORMED.test(current) ? current : randomSecret(32);
  try {
    await c.get("services").redis.set(await slotOf(email, token), 1, { ex: TTL_SECONDS });
  } catch (error) {
    c.get("logger").warn("sign-in device not remembered", describeError(error));
    return;
  }
  setCookie(c, COOKIE, token, { prefix: "host", path: "/", httpOnly: true, secure: true, sameSite: "Strict", maxAge: TTL_SECONDS });
}
