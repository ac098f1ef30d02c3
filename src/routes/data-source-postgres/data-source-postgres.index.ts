// Mounts the Postgres browse routes under /orgs/{slug}/data-sources/{id}.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./data-source-postgres.handlers.ts";
import * as routes from "./data-source-postgres.routes.ts";

export const dataSourcePostgresRouter = createRouter();
dataSourcePostgresRouter
  .openapi(routes.schemas, handlers.schemas)
  .openapi(routes.tables, handlers.tables)
  .openapi(routes.views, handlers.views)
  .openapi(routes.functions, handlers.functions)
  .openapi(routes.types, handlers.types)
  .openapi(routes.policies, handlers.policies)
  .openapi(routes.triggers, handlers.triggers)
  .openapi(routes.foreignTables, handlers.foreignTables)
  .openapi(routes.extensions, handlers.extensions)
  .openapi(routes.publications, handlers.publications)
  .openapi(routes.typescript, handlers.typescript)
  .openapi(routes.query, handlers.query)
  .openapi(routes.history, handlers.history)
  .openapi(routes.importQuery, handlers.importQuery);
