// TOTP against the RFCs' own test vectors (RFC 6238 appendix B, RFC 4648 §10), and the acceptance window.
import { describe, expect, it } from "vitest";
import { base32Decode, base32Encode, hotp, matchingStep, otpauthUri, stepAt } from "../../../src/services/mfa/totp.ts";

const ascii = (text: string) => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;

describe("TOTP", () => {
  // RFC 6238 appendix B: T0 = 0, X = 30, eight digits; the seed is ASCII "1234567890" repeated to the hash's size.
  const vectors: [number, string, string, string][] = [
    [59, "94287082", "46119246", "90693936"],
    [1111111109, "07081804", "68084774", "25091201"],
    [1111111111, "14050471", "67062674", "99943326"],
    [1234567890, "89005924", "91819424", "93441116"],
    [2000000000, "69279037", "90698825", "38618901"],
    [20000000000, "65353130", "77737706", "47863826"],
  ];
  const seed = (length: number) => ascii("1234567890".repeat(7).slice(0, length));

  it.each(vectors)("matches RFC 6238 at T=%i for SHA-1, SHA-256 and SHA-512", async (seconds, sha1, sha256, sha512) => {
    const step = stepAt(seconds * 1000);
    expect(await hotp(seed(20), step, 8, "SHA-1")).toBe(sha1);
    expect(await hotp(seed(32), step, 8, "SHA-256")).toBe(sha256);
    expect(await hotp(seed(64), step, 8, "SHA-512")).toBe(sha512);
  });

  it("encodes and decodes base32 as RFC 4648 does", () => {
    const cases: [string, string][] = [
      ["", ""],
      ["f", "MY"],
      ["fo", "MZXQ"],
      ["foo", "MZXW6"],
      ["foob", "MZXW6YQ"],
      ["fooba", "MZXW6YTB"],
      ["foobar", "MZXW6YTBOI"],
    ];
    for (const [plain, encoded] of cases) {
      expect(base32Encode(ascii(plain))).toBe(encoded);
      expect(new TextDecoder().decode(base32Decode(encoded))).toBe(plain);
    }
    expect(() => base32Decode("not base32!")).toThrow();
  });

  it("accepts the code of the step before, of now and of the step after, and nothing further or malformed", async () => {
    const secret = base32Encode(seed(20));
    const now = 1_700_000_015_000;
    const at = async (offset: number) => hotp(seed(20), stepAt(now) + offset);
    expect(await matchingStep(secret, await at(0), now)).toBe(stepAt(now));
    expect(await matchingStep(secret, await at(-1), now)).toBe(stepAt(now) - 1);
    expect(await matchingStep(secret, await at(1), now)).toBe(stepAt(now) + 1);
    const twoAway = await at(2);
    // A code two steps away is refused unless it happens to equal a code inside the window.
    const inside = await Promise.all([-1, 0, 1].map(at));
    if (!inside.includes(twoAway)) expect(await matchingStep(secret, twoAway, now)).toBeNull();
    expect(await matchingStep(secret, "12345", now)).toBeNull();
    expect(await matchingStep(secret, "abcdef", now)).toBeNull();
  });

  it("writes the otpauth URI authenticator apps scan", () => {
    const uri = new URL(otpauthUri("Datacrafted", "ada@example.com", "JBSWY3DPEHPK3PXP"));
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe("/Datacrafted:ada@example.com");
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      secret: "JBSWY3DPEHPK3PXP",
      issuer: "Datacrafted",
      algorithm: "SHA1",
      digits: "6",
      period: "30",
    });
  });
});
