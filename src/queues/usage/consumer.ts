// The usage queue's consumer: a batch of usage messages, added up by organization and day, becomes one upsert of rollups,
// and a message already added (a redelivered batch) adds nothing again.
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client.ts";
import { type UsageCounter, usageCounters } from "../../db/schema.ts";
import type { Logger } from "../../lib/logger.ts";

const UsageMessage = z.object({
  orgId: z.uuid(),
  at: z.iso.datetime(),
  counts: z.partialRecord(z.enum(usageCounters), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)),
});
type UsageMessage = z.infer<typeof UsageMessage>;

/** snake_case column of each counter (the rollup table's). */
const column = (name: UsageCounter) => name.replaceAll(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
const columns = usageCounters.map(column);

/** A message as jsonb_to_recordset reads it: its id, organization, UTC day and a column for each counter. */
const asRecord = (id: string, { orgId, at, counts }: UsageMessage) => ({
  id,
  org_id: orgId,
  day: at.slice(0, 10),
  ...Object.fromEntries(Object.entries(counts).map(([name, value]) => [column(name as UsageCounter), value])),
});

/**
 * One statement: the messages not received before are recorded (usage_receipts) and only they are summed by organization
 * and day into the rollups (a day's row created at zero), skipping organizations purged meanwhile.
 */
function upsert(records: ReturnType<typeof asRecord>[]) {
  const names = sql.raw(columns.join(", "));
  const types = sql.raw(columns.map((name) => `${name} bigint`).join(", "));
  const sums = sql.raw(columns.map((name) => `sum(coalesce(r.${name}, 0))`).join(", "));
  const adds = sql.raw(columns.map((name) => `${name} = usage_daily.${name} + excluded.${name}`).join(", "));
  const input = JSON.stringify(records);
  return sql`
    WITH fresh AS (
      INSERT INTO usage_receipts (message_id)
      SELECT m.id FROM jsonb_to_recordset(${input}::jsonb) AS m(id text)
      ON CONFLICT (message_id) DO NOTHING
      RETURNING message_id
    )
    INSERT INTO usage_daily (org_id, day, ${names})
    SELECT r.org_id::uuid, r.day::date, ${sums}
    FROM jsonb_to_recordset(${input}::jsonb) AS r(id text, org_id text, day text, ${types})
    JOIN fresh ON fresh.message_id = r.id
    WHERE EXISTS (SELECT 1 FROM organizations o WHERE o.id = r.org_id::uuid)
    GROUP BY r.org_id, r.day
    ON CONFLICT (org_id, day) DO UPDATE SET ${adds}, updated_at = now()`;
}

/** Receipts outlive any redelivery (Queues keeps a message at most 14 days). */
const forgetOldReceipts = sql`DELETE FROM usage_receipts WHERE received_at < now() - interval '15 days'`;

export async function handleUsageBatch(batch: MessageBatch<unknown>, db: Database, logger: Logger): Promise<void> {
  const counted: { message: Message<unknown>; body: UsageMessage }[] = [];
  for (const message of batch.messages) {
    const parsed = UsageMessage.safeParse(message.body);
    // Retrying cannot make it a count: dropped with a log line (it names no person, so the body may be logged).
    if (parsed.success) counted.push({ message, body: parsed.data });
    else {
      logger.error("usage message malformed; dropped", { messageId: message.id, body: message.body });
      message.ack();
    }
  }
  if (counted.length === 0) return;
  try {
    await db.batch([db.execute(upsert(counted.map(({ message, body }) => asRecord(message.id, body)))), db.execute(forgetOldReceipts)]);
    for (const { message } of counted) message.ack();
  } catch (error) {
    // The batch is one transaction: nothing of it was added, so all of it is tried again.
    logger.error("usage batch failed; retrying", {
      messages: counted.length,
      error: error instanceof Error ? error.message : String(error),
    });
    for (const { message } of counted) message.retry({ delaySeconds: 10 });
  }
}
