// Mounts the Postgres browse routes under /orgs/{slug}/data-sources/{id}.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./data-source-postgres.handlers.ts";
import * as routes from "./data-source-postgres.routes.ts";

export const dataSourcePostgresRouter = createRouter();
dataSourcePostgresRouter
  .openapi(routes.schemas, handlers.schemas)
  .openapi(routes.tables, handlers.tables)
  .openapi(routes.query, handlers.query)
  .openapi(routes.importQuery, handlers.importQuery);
