// Structured JSON logs: one object a line, so Workers Logs can index every field.
import type { Config } from "../env.ts";

type Level = Config["LOG_LEVEL"];
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: Level, base: Record<string, unknown> = {}): Logger {
  const write =
    (at: Level) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      if (order[at] < order[level]) return;
      const line = JSON.stringify({ level: at, message, time: new Date().toISOString(), ...base, ...fields });
      if (at === "error") console.error(line);
      else if (at === "warn") console.warn(line);
      else console.log(line);
    };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** A plain description of an error for the log: never sent to a client. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  return { error: error.message, errorName: error.name, stack: error.stack, cause: error.cause ? String(error.cause) : undefined };
}
