// The app's RPC type for `hc<AppType>` (hono/client), built from the route definitions: each router is mounted in
// a loop (src/app.ts), which erases the chained types, so the schema is assembled here from the same createRoute
// objects the routers register (test/app-type.test.ts checks that the two lists agree).
import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import type * as analyses from "./routes/analyses/analyses.routes.ts";
import type * as apiKeys from "./routes/api-keys/api-keys.routes.ts";
import type * as auditLogs from "./routes/audit-logs/audit-logs.routes.ts";
import type * as auth from "./routes/auth/auth.routes.ts";
import type * as chat from "./routes/chat/chat.routes.ts";
import type * as dataSourcePostgres from "./routes/data-source-postgres/data-source-postgres.routes.ts";
import type * as dataSourceRedis from "./routes/data-source-redis/data-source-redis.routes.ts";
import type * as dataSources from "./routes/data-sources/data-sources.routes.ts";
import type * as datasets from "./routes/datasets/datasets.routes.ts";
import type * as downloads from "./routes/downloads/downloads.routes.ts";
import type * as events from "./routes/events/events.routes.ts";
import type * as exports from "./routes/exports/exports.routes.ts";
import type * as health from "./routes/health/health.routes.ts";
import type * as invitations from "./routes/invitations/invitations.routes.ts";
import type * as me from "./routes/me/me.routes.ts";
import type * as members from "./routes/members/members.routes.ts";
import type * as mfa from "./routes/mfa/mfa.routes.ts";
import type * as orgs from "./routes/orgs/orgs.routes.ts";
import type * as projects from "./routes/projects/projects.routes.ts";
import type * as queries from "./routes/queries/queries.routes.ts";
import type * as savedQueries from "./routes/saved-queries/saved-queries.routes.ts";
import type * as refreshes from "./routes/refreshes/refreshes.routes.ts";
import type * as sessions from "./routes/sessions/sessions.routes.ts";
import type * as uploads from "./routes/uploads/uploads.routes.ts";
import type * as webhooks from "./routes/webhooks/webhooks.routes.ts";
import type * as usage from "./routes/usage/usage.routes.ts";
import type { AppEnv } from "./lib/types.ts";

/** The folders of src/routes whose routes the type covers (test/app-type.test.ts checks none is missing). */
export const typedRouteFolders = [
  "analyses",
  "api-keys",
  "audit-logs",
  "auth",
  "chat",
  "data-source-postgres",
  "data-source-redis",
  "data-sources",
  "datasets",
  "downloads",
  "events",
  "exports",
  "health",
  "invitations",
  "me",
  "members",
  "mfa",
  "orgs",
  "projects",
  "queries",
  "saved-queries",
  "refreshes",
  "sessions",
  "uploads",
  "webhooks",
  "usage",
] as const;

/** The route modules mounted under /api/v1, by name. */
export type ApiRouteModules = {
  analyses: typeof analyses;
  apiKeys: typeof apiKeys;
  auditLogs: typeof auditLogs;
  auth: typeof auth;
  chat: typeof chat;
  dataSourcePostgres: typeof dataSourcePostgres;
  dataSourceRedis: typeof dataSourceRedis;
  dataSources: typeof dataSources;
  datasets: typeof datasets;
  downloads: typeof downloads;
  events: typeof events;
  exports: typeof exports;
  invitations: typeof invitations;
  me: typeof me;
  members: typeof members;
  mfa: typeof mfa;
  orgs: typeof orgs;
  projects: typeof projects;
  queries: typeof queries;
  savedQueries: typeof savedQueries;
  refreshes: typeof refreshes;
  sessions: typeof sessions;
  uploads: typeof uploads;
  webhooks: typeof webhooks;
  usage: typeof usage;
};

// What `router.openapi(route, handler)` adds to a router's schema, asked of OpenAPIHono itself.
// biome-ignore lint/complexity/noBannedTypes: \`{}\` is Hono's own empty schema, the start of every router.
declare const api: OpenAPIHono<AppEnv, {}, "/api/v1">;
// biome-ignore lint/complexity/noBannedTypes: as above.
declare const root: OpenAPIHono<AppEnv, {}, "/">;
type SchemaOf<T> = T extends OpenAPIHono<AppEnv, infer S, string> ? S : never;
type ApiSchema<R extends RouteConfig> = SchemaOf<ReturnType<typeof api.openapi<R>>>;
type RootSchema<R extends RouteConfig> = SchemaOf<ReturnType<typeof root.openapi<R>>>;

/** Every createRoute a module exports (its zod schemas and helpers are not routes). */
type RoutesIn<M> = { [K in keyof M]: M[K] extends RouteConfig ? M[K] : never }[keyof M];
type UnionToIntersection<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void ? I : never;

type AppSchema = UnionToIntersection<
  | {
      [M in keyof ApiRouteModules]: RoutesIn<ApiRouteModules[M]> extends infer R ? (R extends RouteConfig ? ApiSchema<R> : never) : never;
    }[keyof ApiRouteModules]
  | (RoutesIn<typeof health> extends infer R ? (R extends RouteConfig ? RootSchema<R> : never) : never)
>;

/** `hc<AppType>(origin)`: every documented operation, its inputs and its responses by status, typed. */
export type AppType = OpenAPIHono<AppEnv, { [Path in keyof AppSchema]: AppSchema[Path] }, "/">;
