// What an export holds: the session, its dataset, its latest succeeded analysis with charts, and the transcript read page by page.
import { and, asc, desc, eq, inArray } from "drizzle-orm";
import type { Database } from "../../db/client.ts";
import { analyses, charts } from "../../db/schema.ts";
import type { AnalysisSession, Dataset } from "../../lib/tenancy.ts";
import type { Chart, Insight } from "../analysis/result.ts";
import { messageCursor, type StoredMessage, transcriptPage } from "../chat/transcript.ts";

/** Messages read per query: the transcript is never held in memory whole. */
export const TRANSCRIPT_PAGE = 500;

export interface ExportBundle {
  exportedAt: Date;
  session: { id: string; title: string; projectId: string; createdAt: string; updatedAt: string };
  dataset: { id: string; name: string; rowCount: number; columnCount: number; deleted: boolean };
  analysis: {
    id: string;
    engine: string;
    model: string | null;
    question: string | null;
    summary: string;
    insights: Insight[];
    charts: Chart[];
    createdAt: string;
    finishedAt: string | null;
  } | null;
}

/** The session's parts that fit in memory, in one round trip. */
export async function loadBundle(db: Database, session: AnalysisSession, dataset: Dataset): Promise<ExportBundle> {
  const latest = db
    .select({ id: analyses.id })
    .from(analyses)
    .where(and(eq(analyses.sessionId, session.id), eq(analyses.status, "succeeded")))
    .orderBy(desc(analyses.createdAt), desc(analyses.id))
    .limit(1);
  const [[analysis], chartRows] = await db.batch([
    db.select().from(analyses).where(inArray(analyses.id, latest)),
    db.select().from(charts).where(inArray(charts.analysisId, latest)).orderBy(asc(charts.position)),
  ]);
  return {
    exportedAt: new Date(),
    session: {
      id: session.id,
      title: session.title,
      projectId: session.projectId,
      createdAt: session.createdAt.toISOString(),
      updatedAt: session.updatedAt.toISOString(),
    },
    dataset: {
      id: dataset.id,
      name: dataset.name,
      rowCount: dataset.rowCount,
      columnCount: dataset.profile.columns.length,
      deleted: dataset.deletedAt !== null,
    },
    analysis: analysis
      ? {
          id: analysis.id,
          engine: analysis.engine,
          model: analysis.model,
          question: analysis.question,
          summary: analysis.summary ?? "",
          insights: (analysis.insights ?? []) as Insight[],
          charts: chartRows.map((chart) => chart.config as Chart),
          createdAt: analysis.createdAt.toISOString(),
          finishedAt: analysis.finishedAt?.toISOString() ?? null,
        }
      : null,
  };
}

/** The whole transcript, oldest first, one page at a time. */
export async function* transcriptPages(db: Database, sessionId: string, pageSize = TRANSCRIPT_PAGE): AsyncGenerator<StoredMessage[]> {
  let after: StoredMessage | undefined;
  for (;;) {
    const page = await transcriptPage(db, sessionId, after && messageCursor(after), pageSize);
    if (page.length > 0) yield page;
    if (page.length < pageSize) return;
    after = page.at(-1);
  }
}
