// One attempt of one webhook delivery: claim it, check the URL against the network policy, sign, POST with a timeout,
// record the outcome; a failure inside the retry window schedules the next attempt with exponential backoff.
import { and, eq } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { webhookDeliveries, webhookEndpoints } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import { describeError, type Logger } from "../../lib/logger.ts";
import type { WebhookMessage } from "../../queues/webhooks/message.ts";
import { decryptSecret, SecretUnreadable } from "../data-sources/secrets.ts";
import { secretRecord } from "./secret-record.ts";
import { signedHeaders } from "./signature.ts";
import { checkWebhookUrl, urlPolicyOf } from "./url.ts";

type Delivery = typeof webhookDeliveries.$inferSelect;
type Endpoint = typeof webhookEndpoints.$inferSelect;

/** Queues cap a message's delay at 12 hours. */
const MAX_DELAY_SECONDS = 12 * 3600;

/** base, 2·base, 4·base… seconds after attempt `attempt` (1-based), capped at 12 hours. */
export const backoffSeconds = (base: number, attempt: number) => Math.min(MAX_DELAY_SECONDS, base * 2 ** Math.max(0, attempt - 1));

/** The secrets that sign now: the current one, and the one it replaced while its grace period lasts. */
async function signingSecrets(config: Config, endpoint: Endpoint, now: Date): Promise<string[]> {
  const secrets = [await decryptSecret(config.DATA_SOURCE_KEYS, secretRecord(endpoint.id), endpoint.secret)];
  if (endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
    // Under a DATA_SOURCE_KEYS key since dropped (the rotation script re-seals current secrets only): the new one alone signs.
    const previous = await decryptSecret(config.DATA_SOURCE_KEYS, secretRecord(endpoint.id), endpoint.previousSecret).catch(() => null);
    if (previous) secrets.push(previous);
  }
  return secrets;
}

/** The message for attempt `attempt` of `deliveryId`. */
export const attemptMessage = (deliveryId: string, attempt: number): WebhookMessage => ({ kind: "delivery", deliveryId, attempt });

/** POSTs the signed payload: the receiver's status, or why there was none. Redirects are not followed (the policy checked this URL). */
async function post(config: Config, url: string, headers: Record<string, string>, body: string) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "User-Agent": "Datacrafted-Webhooks/1", ...headers },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(config.WEBHOOK_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return { statusCode: response.status, error: response.ok ? null : `the receiver answered ${response.status}` };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return {
      statusCode: null,
      error: timedOut
        ? `no answer within ${config.WEBHOOK_TIMEOUT_MS} ms`
        : `could not connect: ${String((error as Error)?.message ?? error).slice(0, 200)}`,
    };
  }
}

export async function attemptDelivery(config: Config, db: Database, logger: Logger, deliveryId: string, attempt: number): Promise<void> {
  const now = new Date();
  // Only the attempt that is due claims the row: a duplicate message, or one for an attempt already made, changes nothing.
  const [delivery] = await db
    .update(webhookDeliveries)
    .set({ attempts: attempt, lastAttemptAt: now, updatedAt: now })
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "pending"), eq(webhookDeliveries.attempts, attempt - 1)))
    .returning();
  if (!delivery) return;
  const [endpoint] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, delivery.endpointId));
  if (!endpoint?.enabled) return finish(db, delivery, "dead", { error: "the endpoint is disabled" });
  const checked = checkWebhookUrl(endpoint.url, urlPolicyOf(config));
  if ("message" in checked) return finish(db, delivery, "dead", { error: `the endpoint URL ${checked.message}` });

  const secrets = await signingSecrets(config, endpoint, now).catch((error: unknown) => {
    if (error instanceof SecretUnreadable) return null;
    throw error;
  });
  // Sealed with a key no longer in DATA_SOURCE_KEYS: nothing can sign until the secret is rotated.
  if (!secrets) return finish(db, delivery, "dead", { error: "the signing secret cannot be opened; rotate it" });
  const body = JSON.stringify(delivery.payload);
  const headers = await signedHeaders(secrets, delivery.eventId, Math.floor(now.getTime() / 1000), body);
  const started = performance.now();
  const outcome = await post(config, checked.url, headers, body);
  const result = { ...outcome, latencyMs: Math.round(performance.now() - started) };

  if (outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300)
    return finish(db, delivery, "succeeded", result);
  if (outcome.statusCode === 410) {
    // 410 Gone: the receiver asks for no more. The endpoint stops receiving until an admin enables it again.
    await db
      .update(webhookEndpoints)
      .set({ enabled: false, disabledReason: "The receiver answered 410 Gone.", updatedAt: new Date() })
      .where(eq(webhookEndpoints.id, endpoint.id));
    logger.warn("webhook endpoint disabled by a 410", { endpointId: endpoint.id });
    return finish(db, delivery, "dead", { ...result, error: "the receiver answered 410 Gone; the endpoint is disabled" });
  }
  const remainingSeconds = Math.floor((delivery.createdAt.getTime() + config.WEBHOOK_RETRY_WINDOW_SECONDS * 1000 - Date.now()) / 1000);
  if (remainingSeconds < 1) return finish(db, delivery, "dead", result);
  // The last attempt falls at the window's end rather than before it.
  const delaySeconds = Math.min(backoffSeconds(config.WEBHOOK_RETRY_BASE_SECONDS, attempt), remainingSeconds);
  await db
    .update(webhookDeliveries)
    .set({ ...recorded(result), nextAttemptAt: new Date(Date.now() + delaySeconds * 1000), updatedAt: new Date() })
    .where(eq(webhookDeliveries.id, delivery.id));
  try {
    await config.WEBHOOK_QUEUE.send(attemptMessage(delivery.id, attempt + 1), { contentType: "json", delaySeconds });
  } catch (error) {
    logger.error("webhook retry not queued; delivery dead-lettered", { deliveryId, ...describeError(error) });
    await finish(db, delivery, "dead", { ...result, error: "the next attempt could not be queued" });
  }
}

interface AttemptResult {
  statusCode?: number | null;
  latencyMs?: number;
  error: string | null;
}

const recorded = ({ statusCode = null, latencyMs, error }: AttemptResult) => ({
  lastStatusCode: statusCode,
  ...(latencyMs === undefined ? {} : { lastLatencyMs: latencyMs }),
  lastError: error,
});

/** Ends a delivery: succeeded, or dead (the dead-letter record: kept, listed, and redeliverable). */
async function finish(db: Database, delivery: Delivery, status: "succeeded" | "dead", result: AttemptResult): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ status, ...recorded(result), nextAttemptAt: null, finishedAt: new Date(), updatedAt: new Date() })
    .where(eq(webhookDeliveries.id, delivery.id));
}
