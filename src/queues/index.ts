// The queue handler: each batch goes to its queue's consumer (audit rows and usage counts a batch at a time, analyses and dataset loads one message at a time).
import { describeError } from "../lib/logger.ts";
import { startHandler } from "../lib/start-handler.ts";
import { handleAnalysisMessage, handleDeadLetter } from "./analyses/consumer.ts";
import { handleAuditBatch } from "./audit/consumer.ts";
import { handleAuditDeadLetters } from "./audit/dead-letter.ts";
import { handleDatasetIngest, handleDatasetIngestDeadLetter } from "./dataset-ingest/consumer.ts";
import { handleUsageBatch } from "./usage/consumer.ts";
import { handleDatasetLoad, handleDatasetLoadDeadLetter } from "./dataset-loads/consumer.ts";
import { handleWebhookDeadLetter, handleWebhookMessage } from "./webhooks/consumer.ts";

/** Queues whose messages are handled one at a time, by name (the rest are analyses and their dead letters). */
const consumers = {
  "datacrafted-dataset-loads": handleDatasetLoad,
  "datacrafted-dataset-loads-dlq": handleDatasetLoadDeadLetter,
  "datacrafted-dataset-ingest": handleDatasetIngest,
  "datacrafted-dataset-ingest-dlq": handleDatasetIngestDeadLetter,
  "datacrafted-webhooks": handleWebhookMessage,
  "datacrafted-webhooks-dlq": handleWebhookDeadLetter,
} as const;

export async function queue(batch: MessageBatch<unknown>, env: Cloudflare.Env, _ctx: ExecutionContext): Promise<void> {
  const started = startHandler(env, { queue: batch.queue });
  if (!started) {
    batch.retryAll({ delaySeconds: 60 });
    return;
  }
  const { config, logger, db } = started;
  if (batch.queue === "datacrafted-audit") return handleAuditBatch(batch, config, db, logger);
  if (batch.queue === "datacrafted-audit-dlq") return handleAuditDeadLetters(batch, config, db, logger);
  if (batch.queue === "datacrafted-usage") return handleUsageBatch(batch, db, logger);
  const handle =
    consumers[batch.queue as keyof typeof consumers] ?? (batch.queue.endsWith("-dlq") ? handleDeadLetter : handleAnalysisMessage);
  for (const message of batch.messages) {
    try {
      await handle(message, config, db, logger);
    } catch (error) {
      // Postgres unreachable, most likely: try this message again later.
      logger.error("queue message failed", { messageId: message.id, ...describeError(error) });
      message.retry({ delaySeconds: 30 });
    }
  }
}
