// The audit queue's consumer: a batch of audit rows becomes one insert; a redelivered row is written once.
import type { Database } from "../../db/client.ts";
import { auditLogs } from "../../db/schema.ts";
import type { Config } from "../../env.ts";
import type { Logger } from "../../lib/logger.ts";
import { keepDeadLetter } from "./dead-letter.ts";
import { type AuditRow, toAuditRow } from "./row.ts";

export async function handleAuditBatch(batch: MessageBatch<unknown>, config: Config, db: Database, logger: Logger): Promise<void> {
  const written: { message: Message<unknown>; row: AuditRow }[] = [];
  for (const message of batch.messages) {
    const row = toAuditRow(message.body);
    // Retrying cannot make it a row: kept in R2 at once instead of dropped.
    if (row) written.push({ message, row });
    else await keepDeadLetter(config, logger, message, "not an audit row");
  }
  if (written.length === 0) return;
  try {
    // The id is the row's primary key: a batch delivered twice inserts nothing the second time.
    await db
      .insert(auditLogs)
      .values(written.map(({ row }) => row))
      .onConflictDoNothing({ target: auditLogs.id });
    for (const { message } of written) message.ack();
  } catch (error) {
    // After the last retry the batch goes to the dead-letter queue, which writes it row by row (src/queues/audit/dead-letter.ts).
    logger.error("audit batch failed; retrying", { rows: written.length, error: error instanceof Error ? error.message : String(error) });
    for (const { message } of written) message.retry({ delaySeconds: 10 });
  }
}
