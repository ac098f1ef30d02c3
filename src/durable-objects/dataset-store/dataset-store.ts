// DatasetStore: one SQLite-backed Durable Object per dataset version, holding its rows in the table `dataset`. Kept thin: each method delegates.
import { DurableObject } from "cloudflare:workers";
import { type QueryOutcome, type QueryRequest, runQuery } from "./query.ts";

export class DatasetStore extends DurableObject<Cloudflare.Env> {
  /** One read-only statement over `dataset` (query.ts). */
  query(request: QueryRequest): QueryOutcome {
    return runQuery(this.ctx.storage, request);
  }
}
