// The analysis queue's message: which analysis to run (everything else is read from Postgres).
import { z } from "zod";

export const AnalysisMessage = z.object({
  analysisId: z.uuid(),
  /** The request that queued it, for the problem document of a failure. */
  requestId: z.string().max(200).optional(),
  /** The queuing request's trace context: the job's model calls continue that trace. */
  traceparent: z
    .string()
    .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
    .optional(),
});
export type AnalysisMessage = z.infer<typeof AnalysisMessage>;
