// What a webhook secret's ciphertext is bound to (its associated data): one endpoint's secret cannot be pasted into another.
export const secretRecord = (endpointId: string) => `webhook:${endpointId}`;
