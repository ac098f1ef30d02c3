// What a TOTP secret's ciphertext is bound to (its associated data): it cannot be pasted into another account, or a data source.
export const totpRecordId = (userId: string) => `totp:${userId}`;
