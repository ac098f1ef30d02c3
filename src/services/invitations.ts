// Invitation tokens: single use, expiring, kept only as SHA-256 hashes; the plaintext exists only in the emailed link.
import { randomSecret, sha256Hex } from "../lib/crypto.ts";

export const INVITATION_TOKEN_PREFIX = "dci_";

export async function newInvitationToken(ttlDays: number) {
  const token = `${INVITATION_TOKEN_PREFIX}${randomSecret(32)}`;
  return { token, hash: await sha256Hex(token), expiresAt: new Date(Date.now() + ttlDays * 86_400_000) };
}

/** Where an invitation stands, from its row. */
export function invitationState(row: { acceptedAt: Date | null; revokedAt: Date | null; expiresAt: Date }, now = new Date()) {
  if (row.acceptedAt) return "accepted" as const;
  if (row.revokedAt) return "revoked" as const;
  return row.expiresAt <= now ? ("expired" as const) : ("pending" as const);
}
