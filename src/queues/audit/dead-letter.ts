// The audit dead-letter consumer: a batch the consumer could not write after every retry is written row by row, and
// whatever still fails (or was never a row) is kept in R2 under audit-dead-letters/ with an error log line, never dropped.
import type { Config } from "../../env.ts";
import type { Database } from "../../db/client.ts";
import { auditLogs } from "../../db/schema.ts";
import { describeError, type Logger } from "../../lib/logger.ts";
import { toAuditRow } from "./row.ts";

/** Where an unwritable message is kept: by day, then by the message's id (a redelivery overwrites its own record). */
export const deadLetterKey = (messageId: string, at = new Date()) =>
  `audit-dead-letters/${at.toISOString().slice(0, 10)}/${messageId}.json`;

/** Keeps `message` in R2 with why it could not be written, then acknowledges it; retries it if R2 refuses too. */
export async function keepDeadLetter(config: Config, logger: Logger, message: Message<unknown>, reason: string): Promise<void> {
  const key = deadLetterKey(message.id);
  try {
    const record = { messageId: message.id, attempts: message.attempts, reason, keptAt: new Date().toISOString(), body: message.body };
    await config.DATASETS.put(key, JSON.stringify(record), { httpMetadata: { contentType: "application/json" } });
    // The row names people (address, user agent) and a database error may quote it: the log says where it is, not what it holds.
    logger.error("audit row could not be written; kept in R2", { messageId: message.id, key });
    message.ack();
  } catch (error) {
    logger.error("audit dead letter could not be kept; retrying", { messageId: message.id, ...describeError(error) });
    message.retry({ delaySeconds: 60 });
  }
}

export async function handleAuditDeadLetters(batch: MessageBatch<unknown>, config: Config, db: Database, logger: Logger): Promise<void> {
  for (const message of batch.messages) {
    const row = toAuditRow(message.body);
    if (!row) {
      await keepDeadLetter(config, logger, message, "not an audit row");
      continue;
    }
    try {
      // One row at a time: a batch fails whole for one bad row, and this finds which.
      await db.insert(auditLogs).values(row).onConflictDoNothing({ target: auditLogs.id });
      message.ack();
    } catch (error) {
      await keepDeadLetter(
        config,
        logger,
        message,
        `insert failed: ${error instanceof Error ? error.message.slice(0, 300) : String(error)}`,
      );
    }
  }
}
