// The usage queue's consumer: a batch of usage messages, added up by organization and day, becomes one upsert of rollups.
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

/** snake_case column of each counter (the rollup table's). */
const column = (name: UsageCounter) => name.replaceAll(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

type Rollup = { org_id: string; day: string; counts: Partial<Record<UsageCounter, number>> };

/** Sums the messages by (organization, UTC day). */
export function rollUp(bodies: z.infer<typeof UsageMessage>[]): Rollup[] {
  const rollups = new Map<string, Rollup>();
  for (const { orgId, at, counts } of bodies) {
    const day = at.slice(0, 10);
    const key = `${orgId}|${day}`;
    const rollup = rollups.get(key) ?? { org_id: orgId, day, counts: {} };
    for (const name of usageCounters) if (counts[name]) rollup.counts[name] = (rollup.counts[name] ?? 0) + counts[name];
    rollups.set(key, rollup);
  }
  return [...rollups.values()];
}

/** A rollup as jsonb_to_recordset reads it: a column for each counter. */
const asRecord = ({ org_id, day, counts }: Rollup) => ({
  org_id,
  day,
  ...Object.fromEntries(Object.entries(counts).map(([name, value]) => [column(name as UsageCounter), value])),
});

/** One statement: the batch's sums added to each day's row (created at zero), skipping organizations purged meanwhile. */
function upsert(rollups: Rollup[]) {
  const columns = usageCounters.map(column);
  const names = sql.raw(columns.join(", "));
  const types = sql.raw(columns.map((name) => `${name} bigint`).join(", "));
  const values = sql.raw(columns.map((name) => `coalesce(r.${name}, 0)`).join(", "));
  const adds = sql.raw(columns.map((name) => `${name} = usage_daily.${name} + excluded.${name}`).join(", "));
  return sql`
    INSERT INTO usage_daily (org_id, day, ${names})
    SELECT r.org_id::uuid, r.day::date, ${values}
    FROM jsonb_to_recordset(${JSON.stringify(rollups.map(asRecord))}::jsonb) AS r(org_id text, day text, ${types})
    WHERE EXISTS (SELECT 1 FROM organizations o WHERE o.id = r.org_id::uuid)
    ON CONFLICT (org_id, day) DO UPDATE SET ${adds}, updated_at = now()`;
}

export async function handleUsageBatch(batch: MessageBatch<unknown>, db: Database, logger: Logger): Promise<void> {
  const counted: { message: Message<unknown>; body: z.infer<typeof UsageMessage> }[] = [];
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
    await db.execute(upsert(rollUp(counted.map(({ body }) => body))));
    for (const { message } of counted) message.ack();
  } catch (error) {
    // The statement is one transaction: nothing of the batch was added, so all of it is tried again.
    logger.error("usage batch failed; retrying", {
      messages: counted.length,
      error: error instanceof Error ? error.message : String(error),
    });
    for (const { message } of counted) message.retry({ delaySeconds: 10 });
  }
}
