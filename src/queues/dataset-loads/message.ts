// The dataset-load queue's message: which dataset to load into its store (everything else is read from Postgres), and for a
// later segment of a load under way, where in the file it goes on and how the first segment read the file's records.
import { z } from "zod";

const Start = z.object({
  datasetId: z.uuid(),
});

export const DatasetLoadSegment = Start.extend({
  /** The load the first segment began (the store refuses a segment of another). */
  loadId: z.uuid(),
  /** The file offset of the segment's first record, and the rows the store holds before it. */
  fromByte: z.number().int().positive(),
  fromRow: z.number().int().nonnegative(),
  /** Records scanned before it (header and blank lines included), for row numbers. */
  fromRecord: z.number().int().nonnegative(),
  /** The delimiter's and line break's bytes, as the first segment found them. */
  delimiter: z.number().int().nonnegative(),
  lineBreak: z.number().int().positive(),
});
export type DatasetLoadSegment = z.infer<typeof DatasetLoadSegment>;

/** A message with only datasetId starts a load (as every message did before loads went in segments). */
export const DatasetLoadMessage = z.union([DatasetLoadSegment, Start]);
export type DatasetLoadMessage = z.infer<typeof DatasetLoadMessage>;
