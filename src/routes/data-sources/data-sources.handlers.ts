// Data-source registry: register, list, read, change and forget sources; test a connection.
import { and, eq, sql } from "drizzle-orm";
import { dataSources } from "../../db/schema.ts";
import { keyset, toPage } from "../../lib/pagination.ts";
import { ApiError } from "../../lib/problem.ts";
import { requireDataSource, requireOrg } from "../../lib/tenancy.ts";
import type { AppRouteHandler } from "../../lib/types.ts";
import { principalOf } from "../../lib/principal.ts";
import { resetCircuit } from "../../services/data-sources/circuit.ts";
import { type RoleFlags, testPostgres, transportOf } from "../../services/data-sources/postgres.ts";
import { transportOf as redisTransportOf } from "../../services/data-sources/redis-address.ts";
import { testRedis } from "../../services/data-sources/redis-browse.ts";
import {
  checkedCredentials,
  type Credentials,
  type DataSource,
  displayOf,
  open,
  postgresTarget,
  redisTarget,
  seal,
} from "../../services/data-sources/registry.ts";
import type { Config } from "../../env.ts";
import type * as routes from "./data-sources.routes.ts";

const iso = (date: Date | null) => date?.toISOString() ?? null;

export const present = (source: DataSource, org: string) => ({
  id: source.id,
  org,
  name: source.name,
  kind: source.kind,
  connection: source.display,
  keyId: source.keyId,
  createdBy: source.createdBy,
  updatedBy: source.updatedBy,
  lastTestedAt: iso(source.lastTestedAt),
  createdAt: source.createdAt.toISOString(),
  updatedAt: source.updatedAt.toISOString(),
});

/** After a change or a delete: the isolate's breaker and the source object's connections and breaker start afresh. */
async function forget(config: Config, source: DataSource) {
  resetCircuit(source.id);
  await connectionOf(config, source.id).reset(source.id);
}

const connectionOf = (config: Config, id: string) => config.SOURCE_CONNECTIONS.get(config.SOURCE_CONNECTIONS.idFromName(id));

/** Health and metrics are kept by the source's connection object, which TCP sources (Postgres and Redis) go through. */
async function requireTcpSource(c: Parameters<AppRouteHandler<typeof routes.health>>[0]) {
  const { slug, id } = c.req.valid("param");
  const { source } = await requireDataSource(c, slug, id, "data_sources:read");
  const credentials = await open(c.get("config"), source);
  const tcp = credentials.kind === "postgres" ? transportOf(credentials.postgres) === "tcp" : credentials.redis.transport === "tcp";
  if (!tcp) {
    throw new ApiError(422, {
      code: "DATA_SOURCE_WRONG_KIND",
      detail: "Health and metrics are kept for sources on the tcp transport (Postgres or Redis); this one is not.",
    });
  }
  return connectionOf(c.get("config"), source.id);
}

export const health: AppRouteHandler<typeof routes.health> = async (c) => c.json(await (await requireTcpSource(c)).health(), 200);

export const metrics: AppRouteHandler<typeof routes.metrics> = async (c) => c.json(await (await requireTcpSource(c)).metrics(), 200);

const nameTaken = (name: string) => new ApiError(409, { detail: `The organization already has a data source named "${name}".` });

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { slug } = c.req.valid("param");
  const { limit, cursor, kind } = c.req.valid("query");
  const page = keyset(dataSources.createdAt, dataSources.id, cursor);
  const { org } = await requireOrg(c, slug, "data_sources:read");
  const rows = await c
    .get("services")
    .db.select()
    .from(dataSources)
    .where(and(eq(dataSources.orgId, org.id), kind ? eq(dataSources.kind, kind) : undefined, page.after))
    .orderBy(...page.order)
    .limit(limit + 1);
  const { data, nextCursor } = toPage(c, rows, limit, (row) => ({ at: row.createdAt, id: row.id }));
  return c.json({ data: data.map((row) => present(row, org.slug)), nextCursor }, 200);
};

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { slug } = c.req.valid("param");
  const body = c.req.valid("json");
  const { org } = await requireOrg(c, slug, "data_sources:manage");
  const credentials = checkedCredentials(
    c.get("config"),
    body.kind === "postgres"
      ? {
          kind: "postgres",
          postgres: {
            connectionString: body.connectionString,
            ...(body.endpoint ? { endpoint: body.endpoint } : {}),
            transport: body.transport ?? (body.endpoint ? "neon-http" : "tcp"),
          },
        }
      : { kind: "redis", redis: { url: body.url, token: body.token } },
  );
  const id = crypto.randomUUID();
  const userId = principalOf(c).userId;
  const [row] = await c
    .get("services")
    .db.insert(dataSources)
    .values({
      id,
      orgId: org.id,
      name: body.name,
      kind: body.kind,
      display: displayOf(credentials),
      ...(await seal(c.get("config"), id, credentials)),
      createdBy: userId,
      updatedBy: userId,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw nameTaken(body.name);
  c.set("auditTarget", { type: "data-sources", id });
  c.header("Location", `/api/v1/orgs/${org.slug}/data-sources/${id}`);
  return c.json(present(row, org.slug), 201);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { org, source } = await requireDataSource(c, slug, id, "data_sources:read");
  return c.json(present(source, org.slug), 200);
};

/** The credentials after a PATCH: the stored ones with the fields sent replaced; fields of the other kind are a 400. */
async function patched(c: Parameters<AppRouteHandler<typeof routes.update>>[0], source: DataSource) {
  const body = c.req.valid("json");
  const foreign = source.kind === "postgres" ? (["url", "token"] as const) : (["connectionString", "endpoint", "transport"] as const);
  const wrong = foreign.filter((field) => body[field] !== undefined);
  if (wrong.length > 0) {
    throw new ApiError(400, {
      code: "VALIDATION_FAILED",
      detail: `A ${source.kind} source has no ${wrong.join(" or ")}.`,
      errors: wrong.map((field) => ({ path: `body.${field}`, message: `not a field of a ${source.kind} source` })),
    });
  }
  const changes =
    source.kind === "postgres"
      ? body.connectionString !== undefined || body.endpoint !== undefined || body.transport !== undefined
      : body.url !== undefined || body.token !== undefined;
  if (!changes) return undefined;
  const current = await open(c.get("config"), source).catch(() => undefined);
  if (source.kind === "postgres") {
    const was = current?.kind === "postgres" ? current.postgres : undefined;
    const connectionString = body.connectionString ?? was?.connectionString;
    if (!connectionString)
      throw new ApiError(422, { detail: "The stored credentials cannot be opened: send a whole new connectionString." });
    const endpoint = body.endpoint === null ? undefined : (body.endpoint ?? was?.endpoint);
    const transport = body.transport ?? (body.endpoint ? "neon-http" : was ? transportOf(was) : "tcp");
    return { kind: "postgres", postgres: { connectionString, ...(endpoint ? { endpoint } : {}), transport } } satisfies Credentials;
  }
  const was = current?.kind === "redis" ? current.redis : undefined;
  const url = body.url ?? was?.url;
  if (!url) throw new ApiError(422, { detail: "The stored credentials cannot be opened: send a whole new url." });
  if (redisTransportOf(url) === "tcp") {
    if (body.token !== undefined)
      throw new ApiError(400, {
        code: "VALIDATION_FAILED",
        detail: "A redis:// source carries its password in the URL.",
        errors: [{ path: "body.token", message: "a redis:// source carries its password in the URL" }],
      });
    return { kind: "redis", redis: { transport: "tcp", url } } satisfies Credentials;
  }
  // A token stays only while the source stays on REST: one sealed for TCP has none.
  const token = body.token ?? (was?.transport === "tcp" ? undefined : was?.token);
  if (!token) throw new ApiError(422, { detail: "An Upstash REST source needs its token: send both url and token." });
  return { kind: "redis", redis: { transport: "upstash-rest", url, token } } satisfies Credentials;
}

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { org, source } = await requireDataSource(c, slug, id, "data_sources:manage");
  const body = c.req.valid("json");
  const sent = await patched(c, source);
  const credentials = sent && checkedCredentials(c.get("config"), sent);
  if (!credentials && body.name === undefined) return c.json(present(source, org.slug), 200);
  const sealed = credentials ? { display: displayOf(credentials), ...(await seal(c.get("config"), source.id, credentials)) } : {};
  const [row] = await c
    .get("services")
    .db.update(dataSources)
    .set({
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...sealed,
      version: sql`${dataSources.version} + 1`,
      updatedAt: sql`now()`,
      updatedBy: principalOf(c).userId,
    })
    .where(and(eq(dataSources.id, source.id), eq(dataSources.orgId, org.id)))
    .returning()
    .catch((error: unknown) => {
      if ((error as { code?: string }).code === "23505" || (error as { cause?: { code?: string } }).cause?.code === "23505")
        throw nameTaken(body.name ?? "");
      throw error;
    });
  if (!row) throw new ApiError(404, { detail: "No data source with this id is visible to you." });
  await forget(c.get("config"), source);
  return c.json(present(row, org.slug), 200);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { org, source } = await requireDataSource(c, slug, id, "data_sources:manage");
  await c
    .get("services")
    .db.delete(dataSources)
    .where(and(eq(dataSources.id, source.id), eq(dataSources.orgId, org.id)));
  await forget(c.get("config"), source);
  return c.body(null, 204);
};

export const test: AppRouteHandler<typeof routes.test> = async (c) => {
  const { slug, id } = c.req.valid("param");
  const { source } = await requireDataSource(c, slug, id, "data_sources:query");
  const config = c.get("config");
  let result: { latencyMs: number; serverVersion: string; details: Record<string, string | number>; role?: RoleFlags; warnings: string[] };
  if (source.kind === "postgres") {
    result = await testPostgres(await postgresTarget(config, source, c.get("trace").traceparent));
  } else {
    result = { ...(await testRedis(await redisTarget(config, source))), warnings: [] };
  }
  await c.get("services").db.update(dataSources).set({ lastTestedAt: sql`now()` }).where(eq(dataSources.id, source.id));
  return c.json({ ok: true as const, ...result }, 200);
};
