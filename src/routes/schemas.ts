// Request and response schemas shared by several resources.
import { z } from "@hono/zod-openapi";
import { roles } from "../db/schema.ts";

export const Email = z
  .email()
  .max(254)
  .transform((value) => value.toLowerCase())
  .openapi({ example: "ada@example.com" });

/**
 * Every string a client sends that reaches Postgres starts here: a text column refuses U+0000 (and jsonb refuses
 * `\u0000`), so NUL is a 400 naming the field rather than a 500 from the database. Chain length and trim as usual.
 */
export const Text = z.string().regex(/^[^\u0000]*$/, "must not contain the NUL character (U+0000)");

/** Whether a JSON value holds U+0000 in any string or key (jsonb refuses it). A loop, not recursion: any depth is safe. */
export function holdsNul(value: unknown): boolean {
  const pending = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === "string") {
      if (item.includes("\u0000")) return true;
    } else if (Array.isArray(item)) pending.push(...item);
    else if (item && typeof item === "object") {
      for (const [key, inner] of Object.entries(item)) {
        if (key.includes("\u0000")) return true;
        pending.push(inner);
      }
    }
  }
  return false;
}

export const Role = z.enum(roles).openapi({ description: "owner > admin > member > viewer" });

export const Slug = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/, "lower-case letters, digits and inner hyphens, at most 48")
  .openapi({ example: "acme-analytics" });

export const Timestamp = z.iso.datetime().openapi({ example: "2026-11-21T23:36:29.000Z" });

/** `{id}` in a path: a resource's uuid. */
export const IdParam = z.object({ id: z.uuid() });

/** `{slug}` in a path: an organization. */
export const SlugParam = z.object({ slug: Slug });

/** A 200 of one resource with the ETag a conditional write sends back as If-Match. */
export const etagResponse = <T extends z.ZodTypeAny>(description: string, schema: T) => ({
  description,
  headers: z.object({ ETag: z.string().openapi({ description: "Send as If-Match to update only this version" }) }),
  content: { "application/json": { schema } },
});

/** The optional If-Match of a conditional write on a `resource` (a project, a session…). */
export const ifMatchOf = (resource: string) =>
  z.object({
    "if-match": z
      .string()
      .max(200)
      .optional()
      .openapi({ description: `The ETag you read: the write fails with 412 if the ${resource} changed since` }),
  });
