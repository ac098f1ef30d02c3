// Exports: a session's latest analysis and transcript, streamed in the asked format as a download.
import { pullStream } from "../../lib/pull-stream.ts";
import { requireSession } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { loadBundle, transcriptPages } from "../../services/exports/bundle.ts";
import { contentDisposition } from "../../services/exports/filename.ts";
import { csvExport, type ExportFormat, jsonExport, markdownExport } from "../../services/exports/formats.ts";
import { xlsxExport } from "../../services/exports/xlsx.ts";
import type * as routes from "./exports.routes.ts";

type Writer = (...args: Parameters<typeof jsonExport>) => AsyncGenerator<string | Uint8Array>;

const formats: Record<ExportFormat, { type: string; write: Writer }> = {
  json: { type: "application/json; charset=utf-8", write: jsonExport },
  csv: { type: "text/csv; charset=utf-8", write: csvExport },
  md: { type: "text/markdown; charset=utf-8", write: markdownExport },
  xlsx: { type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", write: xlsxExport },
};

export const exportSession: AppRouteHandler<typeof routes.exportSession> = async (c) => {
  const { format } = c.req.valid("query");
  const { session, dataset } = await requireSession(c, c.req.valid("param").id, "sessions:read");
  const db = c.get("services").db;
  const bundle = await loadBundle(db, session, dataset);
  const { type, write } = formats[format];
  return c.body(pullStream(write(bundle, transcriptPages(db, session.id)), c.get("logger"), "export"), 200, {
    "Content-Type": type,
    "Content-Disposition": contentDisposition(session.title, bundle.exportedAt, format),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
  });
};
