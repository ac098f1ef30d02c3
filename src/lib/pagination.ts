// Cursor pagination, the same for every list: newest first by (created_at, id), an opaque cursor, and a Link rel="next".
import { desc, sql, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import { base64url, fromBase64url } from "./crypto.ts";
import { ApiError } from "./problem.ts";

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: "Items per page (1–100)", example: 20 }),
  cursor: z.string().max(200).optional().openapi({ description: "`nextCursor` of the previous page" }),
});

export interface Cursor {
  at: Date;
  id: string;
}

export function encodeCursor({ at, id }: Cursor): string {
  return base64url(new TextEncoder().encode(JSON.stringify([at.toISOString(), id])));
}

export function decodeCursor(cursor: string | undefined): Cursor | undefined {
  if (cursor === undefined) return undefined;
  try {
    const [at, id] = JSON.parse(new TextDecoder().decode(fromBase64url(cursor))) as unknown[];
    const date = new Date(String(at));
    if (typeof id !== "string" || Number.isNaN(date.getTime())) throw new Error("shape");
    return { at: date, id };
  } catch {
    throw new ApiError(400, {
      code: "VALIDATION_FAILED",
      detail: "The cursor is not one this API issued.",
      errors: [{ path: "query.cursor", message: "Invalid cursor" }],
    });
  }
}

export const pageSchema = <T extends z.ZodTypeAny>(item: T) =>
  z.object({
    data: z.array(item),
    nextCursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last" }),
  });

/**
 * Given `limit + 1` rows in order, returns the page and sets `Link: <…>; rel="next"`.
 * Keyset order means rows inserted meanwhile land before the first page, never in the middle.
 */
export function toPage<T>(c: Context, rows: T[], limit: number, key: (row: T) => Cursor): { data: T[]; nextCursor: string | null } {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  const nextCursor = rows.length > limit && last ? encodeCursor(key(last)) : null;
  if (nextCursor) {
    const next = new URL(c.req.url);
    next.searchParams.set("cursor", nextCursor);
    next.searchParams.set("limit", String(limit));
    c.header("Link", `<${next.pathname}${next.search}>; rel="next"`);
  }
  return { data, nextCursor };
}

/** The WHERE fragment and ORDER BY of a newest-first keyset page over (createdAt, id). */
export function keyset(createdAt: PgColumn, id: PgColumn, cursor: string | undefined): { after: SQL | undefined; order: [SQL, SQL] } {
  const from = decodeCursor(cursor);
  return {
    after: from ? sql`(${createdAt}, ${id}) < (${from.at.toISOString()}::timestamptz, ${from.id}::uuid)` : undefined,
    order: [desc(createdAt), desc(id)],
  };
}
