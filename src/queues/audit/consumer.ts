// The audit queue's consumer: a batch of audit rows becomes one insert; a redelivered row is written once.
import type { Database } from "../../db/client.ts";
import { auditLogs } from "../../db/schema.ts";
import type { Logger } from "../../lib/logger.ts";

export type AuditRow = typeof auditLogs.$inferInsert;

/** Rows arrive as JSON (the middleware sends them so): the time comes back to a Date; anything else is dropped. */
function toRow(body: unknown): AuditRow | null {
  const row = body as Record<string, unknown> | null;
  if (typeof row !== "object" || row === null || typeof row.id !== "string" || typeof row.action !== "string") return null;
  const at = new Date(row.at as string);
  return Number.isNaN(at.getTime()) ? null : ({ ...row, at } as AuditRow);
}

export async function handleAuditBatch(batch: MessageBatch<unknown>, db: Database, logger: Logger): Promise<void> {
  const rows = batch.messages.map((message) => toRow(message.body)).filter((row) => row !== null);
  if (rows.length < batch.messages.length) logger.error("audit messages malformed; dropped", { dropped: batch.messages.length - rows.length });
  try {
    // The id is the row's primary key: a batch delivered twice inserts nothing the second time.
    if (rows.length > 0) await db.insert(auditLogs).values(rows).onConflictDoNothing({ target: auditLogs.id });
    batch.ackAll();
  } catch (error) {
    logger.error("audit batch failed; retrying", { rows: rows.length, error: error instanceof Error ? error.message : String(error) });
    batch.retryAll({ delaySeconds: 10 });
  }
}
