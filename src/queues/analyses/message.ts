// The analysis queue's message: which analysis to run (everything else is read from Postgres).
import { z } from "zod";

export const AnalysisMessage = z.object({
  analysisId: z.uuid(),
  /** The request that queued it, for the problem document of a failure. */
  requestId: z.string().max(200).optional(),
});
export type AnalysisMessage = z.infer<typeof AnalysisMessage>;
