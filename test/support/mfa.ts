// Two-factor helpers for tests: an authenticator (otpauth, a library nobody here wrote) reading our otpauth:// URI.
import * as OTPAuth from "otpauth";
import { expect } from "vitest";
import { call, json, type Person, person } from "./harness.ts";

const STEP_MS = 30_000;

/**
 * The authenticator's code `offset` steps from now. Close to a step boundary it first waits the boundary out (at most two
 * seconds), so the server, a moment later, is still in the step the code was computed against.
 */
export async function code(totp: OTPAuth.TOTP, offset = 0): Promise<string> {
  const intoStep = Date.now() % STEP_MS;
  if (intoStep > STEP_MS - 2_000) await new Promise((resolve) => setTimeout(resolve, STEP_MS - intoStep + 50));
  return totp.generate({ timestamp: Date.now() + offset * STEP_MS });
}

export interface Enrolled {
  who: Person;
  totp: OTPAuth.TOTP;
  recoveryCodes: string[];
}

/** Enrols `who` and confirms with the code of the step before now, leaving now and the step after for the test. */
export async function enrolled(label = "mfa", who?: Person): Promise<Enrolled> {
  who ??= await person(label);
  const started = await call("/api/v1/me/mfa/totp", { method: "POST", token: who.token });
  expect(started.headers.get("Cache-Control")).toBe("no-store");
  const { secret, otpauthUri } = await json<{ secret: string; otpauthUri: string }>(started, 201);
  const totp = OTPAuth.URI.parse(otpauthUri) as OTPAuth.TOTP;
  expect(totp.secret.base32).toBe(secret);
  const { recoveryCodes } = await json<{ recoveryCodes: string[] }>(
    await call("/api/v1/me/mfa/totp/confirm", { method: "POST", token: who.token, body: { code: await code(totp, -1) } }),
    200,
  );
  return { who, totp, recoveryCodes };
}
