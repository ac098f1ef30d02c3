// An audit queue message as the row it carries: what both the consumer and the dead-letter consumer write.
import type { auditLogs } from "../../db/schema.ts";

export type AuditRow = typeof auditLogs.$inferInsert;

/** Rows arrive as JSON (the middleware sends them so): the time comes back to a Date; anything else is not a row. */
export function toAuditRow(body: unknown): AuditRow | null {
  const row = body as Record<string, unknown> | null;
  if (typeof row !== "object" || row === null || typeof row.id !== "string" || typeof row.action !== "string") return null;
  const at = new Date(row.at as string);
  return Number.isNaN(at.getTime()) ? null : ({ ...row, at } as AuditRow);
}
