// Queries: authorize the dataset read, then run the statement in the dataset's store (through the result cache).
import { requireDataset } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { queryDataset } from "../../services/query/run.ts";
import type * as routes from "./queries.routes.ts";

export const query: AppRouteHandler<typeof routes.query> = async (c) => {
  const body = c.req.valid("json");
  const { dataset } = await requireDataset(c, c.req.valid("param").id, "datasets:read");
  const answer = await queryDataset(c.get("config"), dataset, body.sql, body.params);
  return c.json(answer, 200);
};
