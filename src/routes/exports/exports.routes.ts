// Route definition for exports: a session's analysis and transcript as one JSON, CSV or Markdown file.
import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../lib/create-app.ts";
import { problemResponses } from "../../lib/openapi.ts";
import { IdParam } from "../schemas.ts";

const attachment = z.object({
  "Content-Disposition": z.string().openapi({ example: 'attachment; filename="Sales-review-2026-11-22.json"' }),
});

export const exportSession = createRoute({
  method: "get",
  path: "/sessions/{id}/export",
  operationId: "exportSession",
  tags: ["Sessions"],
  summary: "Download the session: its latest analysis (summary, insights, chart configs) and the whole chat transcript",
  description:
    "Streamed as it is read, so a long transcript is fine. `json`: one document with `session`, `dataset`, `analysis` (null when none succeeded) and `messages` (oldest first). `csv`: one row per item, columns `section,index,kind,title,detail,columns,role,content,created_at` (sections `session`, `analysis`, `insight`, `chart` with its config as JSON in `detail`, `message`); cells a spreadsheet would run as formulas are prefixed with `'`. `md`: headings, insights as bullets, chart configs as fenced JSON, the transcript as a list. `xlsx`: a workbook with an `Analysis` sheet (the CSV's columns but `role` and `content`, one row per session, analysis, insight and chart) and a `Messages` sheet (`index,role,engine,model,content,created_at`, dates as dates); its cells are text, never formulas.",
  ...authed,
  request: {
    params: IdParam,
    query: z.object({
      format: z.enum(["json", "csv", "md", "xlsx"]).default("json").openapi({ description: "File format (default json)" }),
    }),
  },
  responses: {
    200: {
      description: "The export, as an attachment",
      headers: attachment,
      content: {
        "application/json": { schema: z.object({}).passthrough() },
        "text/csv": { schema: z.string() },
        "text/markdown": { schema: z.string() },
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { schema: { type: "string", format: "binary" } },
      },
    },
    ...problemResponses(400, 401, 404),
  },
});
