// Queries: authorize the dataset read, compile a spec if one was sent, then run the statement in the dataset's store (through the result cache).
import { ApiError } from "../../lib/problem.ts";
import { requireDataset } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { queryDataset } from "../../services/query/run.ts";
import { compileSpec, SpecError } from "../../services/query/spec.ts";
import type * as routes from "./queries.routes.ts";

export const query: AppRouteHandler<typeof routes.query> = async (c) => {
  const body = c.req.valid("json");
  const { dataset } = await requireDataset(c, c.req.valid("param").id, "datasets:read");
  const config = c.get("config");
  let statement = { sql: body.sql ?? "", params: body.params ?? [] };
  if (body.spec) {
    try {
      const columns = dataset.profile.columns.map(({ name, type }) => ({ name, type }));
      statement = compileSpec(body.spec, columns, { maxLimit: config.QUERY_MAX_ROWS });
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      throw new ApiError(422, {
        code: "QUERY_INVALID",
        detail: `The spec cannot run on this dataset: ${error.message}.`,
        errors: [{ path: `body.spec.${error.path}`, message: error.message }],
      });
    }
  }
  return c.json(await queryDataset(config, dataset, statement.sql, statement.params), 200);
};
