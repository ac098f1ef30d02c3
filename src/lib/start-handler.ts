// The start of every handler outside HTTP (queue batches, cron runs): the validated configuration, a logger and a database.
import { createDb, type Database } from "../db/client.ts";
import { type Config, loadConfig } from "../env.ts";
import { createLogger, type Logger } from "./logger.ts";

export interface HandlerContext {
  config: Config;
  logger: Logger;
  db: Database;
}

/** `fields` go on every log line (`{ queue }`, `{ cron }`); null, logged, when the configuration is invalid. */
export function startHandler(env: Cloudflare.Env, fields: Record<string, unknown>): HandlerContext | null {
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    console.error(JSON.stringify({ level: "error", message: "configuration invalid", problems: loaded.problems, ...fields }));
    return null;
  }
  return { config: loaded.config, logger: createLogger(loaded.config.LOG_LEVEL, fields), db: createDb(loaded.config) };
}
