// Sends one email through an HTTP email API in Resend's wire format; never logs an address, a subject's details or a link.
import type { Context } from "hono";
import { z } from "zod";
import type { Config } from "../../env.ts";
import { describeError, type Logger } from "../../lib/logger.ts";
import type { AppEnv } from "../../lib/types.ts";
import { waitUntil } from "../../lib/wait-until.ts";

export interface Email {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** What the mail is for: the only detail about a message that reaches the log. */
export type EmailKind = "verification" | "invitation";

const Accepted = z.object({ id: z.string().min(1) });
const TIMEOUT_MS = 10_000;

export const emailConfigured = (config: Config) => config.EMAIL_API_URL !== undefined && config.EMAIL_API_KEY !== undefined;

/**
 * POSTs `email` to `{EMAIL_API_URL}/emails`. Resolves either way (it runs after the response, in
 * waitUntil): a failure is logged with the kind and the status only. One retry for a dropped
 * connection, a 429 or a 5xx, with the same Idempotency-Key so the provider sends it once.
 */
export async function sendEmail(config: Config, logger: Logger, kind: EmailKind, email: Email): Promise<boolean> {
  if (!emailConfigured(config)) {
    logger.warn("email not sent: EMAIL_API_URL is not configured", { kind });
    return false;
  }
  const idempotencyKey = crypto.randomUUID();
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const response = await fetch(`${config.EMAIL_API_URL}/emails`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${config.EMAIL_API_KEY}`,
          "Content-Type": "application/json",
          "Idempotency-Key": idempotencyKey,
        },
        body: JSON.stringify({ from: config.EMAIL_FROM, to: [email.to], subject: email.subject, html: email.html, text: email.text }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const body: unknown = await response.json().catch(() => null);
      if (response.ok && Accepted.safeParse(body).success) {
        logger.info("email sent", { kind, providerId: (body as { id: string }).id });
        return true;
      }
      const retryable = response.status === 429 || response.status >= 500;
      logger.warn("email refused by the provider", { kind, status: response.status, attempt, retryable });
      if (!retryable) return false;
    } catch (error) {
      logger.warn("email provider unreachable", { kind, attempt, ...describeError(error) });
    }
  }
  logger.error("email not sent after retrying", { kind });
  return false;
}

/** Sends after the response (ctx.waitUntil): the request neither waits for the provider nor fails with it. */
export function sendLater(c: Context<AppEnv>, kind: EmailKind, email: Email) {
  waitUntil(c, sendEmail(c.get("config"), c.get("logger"), kind, email));
}
