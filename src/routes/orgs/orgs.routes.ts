// Route definitions for organizations, addressed by slug.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { jsonBody, problemResponses } from "../../lib/openapi.ts";
import { PageQuery, pageSchema } from "../../lib/pagination.ts";
import { llmDataPolicies } from "../../db/schema.ts";
import { ifMatchOf, Role, Slug, SlugParam, Text, Timestamp, etagResponse } from "../schemas.ts";

const LlmDataPolicy = z.enum(llmDataPolicies).openapi({
  description:
    "What the model sees of this organization's data in analysis prompts and chat tool results: `schema` (column names, types, row, null and distinct counts; tool results give only their columns and row count, never a value), `sample` (the profile with its statistics and top values, 20 sample rows, up to 50 rows of each tool result; the default) or `full` (as sample, with up to 200 rows of each tool result)",
});

const LlmMonthlyBudget = z.number().int().min(0).max(1_000_000_000).nullable().openapi({
  description:
    "LLM cost units (about one per thousand tokens) analyses and chat may spend a calendar month (UTC); past it they answer 402 `BUDGET_EXHAUSTED` until the month ends, and the statistical engine still answers. null: the tier's default (GET /orgs/{slug}/usage shows the budget in force). Owners set it",
  example: 5000,
});

export const Organization = z
  .object({
    id: z.uuid(),
    slug: Slug,
    name: z.string(),
    personal: z.boolean().openapi({ description: "Every user has one personal organization; it goes when the account goes" }),
    role: Role.openapi({ description: "Your role in it" }),
    llmDataPolicy: LlmDataPolicy,
    llmMonthlyBudget: LlmMonthlyBudget,
    requireMfa: z
      .boolean()
      .openapi({ description: "Members need two-factor sign-in before the organization's routes answer them (403 `MFA_REQUIRED`)" }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Organization");

const Name = Text.trim().min(1).max(100);
const one = (description: string) => etagResponse(description, Organization);
const ifMatch = ifMatchOf("organization");

export const list = createRoute({
  method: "get",
  path: "/orgs",
  operationId: "listOrganizations",
  tags: ["Organizations"],
  summary: "Organizations you belong to, newest first",
  ...authed,
  request: { query: PageQuery },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: pageSchema(Organization) } } },
    ...problemResponses(400, 401),
  },
});

export const create = createRoute({
  method: "post",
  path: "/orgs",
  operationId: "createOrganization",
  tags: ["Organizations"],
  summary: "Create an organization (you become its owner)",
  ...authed,
  request: {
    body: jsonBody(z.object({ name: Name, slug: Slug.optional().openapi({ description: "Derived from the name when omitted" }) }).strict()),
  },
  responses: { 201: one("Created"), ...problemResponses(400, 401, 403, 409, 415) },
});

export const get = createRoute({
  method: "get",
  path: "/orgs/{slug}",
  operationId: "getOrganization",
  tags: ["Organizations"],
  summary: "One organization",
  ...authed,
  request: { params: SlugParam },
  responses: { 200: one("The organization"), 304: { description: "Not modified (If-None-Match)" }, ...problemResponses(400, 401, 404) },
});

export const update = createRoute({
  method: "patch",
  path: "/orgs/{slug}",
  operationId: "updateOrganization",
  tags: ["Organizations"],
  summary:
    "Rename an organization, change its slug or its llmDataPolicy (admins and owners), set its llmMonthlyBudget or require MFA (owners)",
  description:
    "`requireMfa` is for owners only, and an owner turning it on must have two-factor sign-in already (409 `MFA_NOT_ENROLLED`), so nobody locks the organization out.",
  ...authed,
  request: {
    params: SlugParam,
    headers: ifMatch,
    body: jsonBody(
      z
        .object({
          name: Name.optional(),
          slug: Slug.optional(),
          llmDataPolicy: LlmDataPolicy.optional(),
          llmMonthlyBudget: LlmMonthlyBudget.optional(),
          requireMfa: z.boolean().optional(),
        })
        .strict(),
    ),
  },
  responses: { 200: one("Updated"), ...problemResponses(400, 401, 403, 404, 409, 412, 415) },
});

export const remove = createRoute({
  method: "delete",
  path: "/orgs/{slug}",
  operationId: "deleteOrganization",
  tags: ["Organizations"],
  summary: "Delete an organization (owners; soft, its API keys stop working)",
  ...authed,
  request: { params: SlugParam, headers: ifMatch },
  responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 404, 409, 412) },
});
