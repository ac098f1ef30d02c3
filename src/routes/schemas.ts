// Request and response schemas shared by several resources.
import { z } from "@hono/zod-openapi";
import { roles } from "../db/schema.ts";

export const Email = z
  .email()
  .max(254)
  .transform((value) => value.toLowerCase())
  .openapi({ example: "ada@example.com" });

export const Role = z.enum(roles).openapi({ description: "owner > admin > member > viewer" });

export const Slug = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/, "lower-case letters, digits and inner hyphens, at most 48")
  .openapi({ example: "acme-analytics" });

export const Timestamp = z.iso.datetime().openapi({ example: "2026-11-21T23:36:29.000Z" });

/** `bearerAuth` as every protected route declares it. */
export const bearerSecurity = [{ bearerAuth: [] }];
