// The queue handler: each batch goes to its queue's consumer (audit rows a batch at a time, analyses and dataset loads one message at a time).
import { createDb } from "../db/client.ts";
import { loadConfig } from "../env.ts";
import { createLogger, describeError } from "../lib/logger.ts";
import { handleAnalysisMessage, handleDeadLetter } from "./analyses/consumer.ts";
import { handleAuditBatch } from "./audit/consumer.ts";
import { handleAuditDeadLetters } from "./audit/dead-letter.ts";
import { handleDatasetLoad, handleDatasetLoadDeadLetter } from "./dataset-loads/consumer.ts";

/** Queues whose messages are handled one at a time, by name (the rest are analyses and their dead letters). */
const consumers = {
  "datacrafted-dataset-loads": handleDatasetLoad,
  "datacrafted-dataset-loads-dlq": handleDatasetLoadDeadLetter,
} as const;

export async function queue(batch: MessageBatch<unknown>, env: Cloudflare.Env, _ctx: ExecutionContext): Promise<void> {
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    console.error(JSON.stringify({ level: "error", message: "configuration invalid", problems: loaded.problems }));
    batch.retryAll({ delaySeconds: 60 });
    return;
  }
  const config = loaded.config;
  const logger = createLogger(config.LOG_LEVEL, { queue: batch.queue });
  const db = createDb(config);
  if (batch.queue === "datacrafted-audit") return handleAuditBatch(batch, config, db, logger);
  if (batch.queue === "datacrafted-audit-dlq") return handleAuditDeadLetters(batch, config, db, logger);
  const handle = consumers[batch.queue as keyof typeof consumers] ?? (batch.queue.endsWith("-dlq") ? handleDeadLetter : handleAnalysisMessage);
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
