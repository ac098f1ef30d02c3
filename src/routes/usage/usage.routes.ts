// Route definition for an organization's usage: daily rollups and the month's LLM budget.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { problemResponses } from "../../lib/openapi.ts";
import { PageQuery } from "../../lib/pagination.ts";
import { SlugParam, Timestamp } from "../schemas.ts";

/** The most days one request may span. */
export const MAX_USAGE_DAYS = 366;

const Day = z.iso.date().openapi({ description: "A UTC day", example: "2026-11-21" });
const count = (description: string) => z.number().int().nonnegative().openapi({ description });

export const UsageDay = z
  .object({
    day: Day,
    requests: count("API requests made in the organization (each counted once, whatever it answered)"),
    llmCalls: count("Model calls made by analyses and chat"),
    promptTokens: count("Prompt tokens, as the model provider reported them"),
    completionTokens: count("Completion tokens, as the model provider reported them"),
    llmUnits: count("LLM cost units spent (the `llm` bucket's units, about one per thousand tokens): what the monthly budget counts"),
    rowsLoaded: count("Rows loaded into dataset stores"),
    storageBytes: count("Bytes of dataset files stored (uploads and imports; the same bytes uploaded again are not stored twice)"),
    dataSourceQueries: count("Queries, pipelines and imports sent to the organization's data sources"),
  })
  .openapi("UsageDay");

export const UsagePage = z
  .object({
    data: z.array(UsageDay).openapi({ description: "Every day of the range, newest first; a day with no usage has zeros" }),
    nextCursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next (earlier) page; null on the last" }),
    budget: z
      .object({
        units: z
          .number()
          .int()
          .nonnegative()
          .openapi({ description: "The monthly LLM budget in force: the organization's own, else its tier's" }),
        spent: z.number().int().nonnegative().openapi({ description: "Units spent this month (UTC)" }),
        resetsAt: Timestamp.openapi({ description: "When the month's budget renews" }),
      })
      .openapi({ description: "This month's LLM budget" }),
  })
  .openapi("UsagePage");

export const list = createRoute({
  method: "get",
  path: "/orgs/{slug}/usage",
  operationId: "listUsage",
  tags: ["Usage"],
  summary: "An organization's usage by day, and its monthly LLM budget (admins and owners)",
  description:
    "Counts arrive through a queue, so the last seconds' usage may not show yet. `from` and `to` are UTC days, both included (default: the 30 days to today); at most 366 days.",
  ...authed,
  request: {
    params: SlugParam,
    query: PageQuery.extend({
      from: Day.optional().openapi({ description: "The first day (included); default: 29 days before `to`" }),
      to: Day.optional().openapi({ description: "The last day (included); default: today (UTC)" }),
    }),
  },
  responses: {
    200: { description: "A page of days", content: { "application/json": { schema: UsagePage } } },
    ...problemResponses(400, 401, 403, 404),
  },
});
