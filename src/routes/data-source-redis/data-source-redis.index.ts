// Mounts the Redis routes under /orgs/{slug}/data-sources/{id}.
import { createRouter } from "../../lib/create-app.ts";
import * as handlers from "./data-source-redis.handlers.ts";
import * as routes from "./data-source-redis.routes.ts";

export const dataSourceRedisRouter = createRouter();
dataSourceRedisRouter
  .openapi(routes.keys, handlers.keys)
  .openapi(routes.getKey, handlers.getKey)
  .openapi(routes.putKey, handlers.putKey)
  .openapi(routes.deleteKey, handlers.deleteKey)
  .openapi(routes.keyOps, handlers.keyOps)
  .openapi(routes.slowlog, handlers.slowlog)
  .openapi(routes.memory, handlers.memory)
  .openapi(routes.publish, handlers.publish)
  .openapi(routes.info, handlers.info)
  .openapi(routes.pipeline, handlers.pipeline)
  .openapi(routes.importKeys, handlers.importKeys);
