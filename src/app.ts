// The Datacrafted API: the pipeline from createApp, then every router, then the docs that describe them.
import { createApp } from "./lib/create-app.ts";
import { analysesRouter } from "./routes/analyses/analyses.index.ts";
import { apiKeysRouter } from "./routes/api-keys/api-keys.index.ts";
import { auditLogsRouter } from "./routes/audit-logs/audit-logs.index.ts";
import { auth } from "./routes/auth/auth.index.ts";
import { chatRouter } from "./routes/chat/chat.index.ts";
import { eventsRouter } from "./routes/events/events.index.ts";
import { dataSourcePostgresRouter } from "./routes/data-source-postgres/data-source-postgres.index.ts";
import { dataSourceRedisRouter } from "./routes/data-source-redis/data-source-redis.index.ts";
import { dataSourcesRouter } from "./routes/data-sources/data-sources.index.ts";
import { datasetsRouter } from "./routes/datasets/datasets.index.ts";
import { downloadsRouter } from "./routes/downloads/downloads.index.ts";
import { mountDocs } from "./routes/docs/docs.index.ts";
import { exportsRouter } from "./routes/exports/exports.index.ts";
import { health } from "./routes/health/health.index.ts";
import { me } from "./routes/me/me.index.ts";
import { members } from "./routes/members/members.index.ts";
import { mfa } from "./routes/mfa/mfa.index.ts";
import { invitations } from "./routes/invitations/invitations.index.ts";
import { orgs } from "./routes/orgs/orgs.index.ts";
import { playground } from "./routes/playground/playground.index.ts";
import { projectsRouter } from "./routes/projects/projects.index.ts";
import { queriesRouter } from "./routes/queries/queries.index.ts";
import { savedQueriesRouter } from "./routes/saved-queries/saved-queries.index.ts";
import { refreshesRouter } from "./routes/refreshes/refreshes.index.ts";
import { sessionsRouter } from "./routes/sessions/sessions.index.ts";
import { uploadsRouter } from "./routes/uploads/uploads.index.ts";
import { webhooksRouter } from "./routes/webhooks/webhooks.index.ts";
import { usageRouter } from "./routes/usage/usage.index.ts";

const app = createApp();

app.route("/", health);
// GET /: a page to try the API in a browser (outside the OpenAPI document: it is HTML, not part of the API).
app.route("/", playground);
const routers = [
  auth,
  me,
  mfa,
  orgs,
  members,
  invitations,
  apiKeysRouter,
  auditLogsRouter,
  usageRouter,
  projectsRouter,
  datasetsRouter,
  uploadsRouter,
  downloadsRouter,
  queriesRouter,
  sessionsRouter,
  analysesRouter,
  eventsRouter,
  chatRouter,
  exportsRouter,
  dataSourcesRouter,
  dataSourcePostgresRouter,
  dataSourceRedisRouter,
  savedQueriesRouter,
  webhooksRouter,
  refreshesRouter,
];
for (const router of routers) app.route("/api/v1", router);

mountDocs(app);

export default app;

/** The RPC type for `hc<AppType>` (hono/client); see src/app-type.ts. */
export type { AppType } from "./app-type.ts";
