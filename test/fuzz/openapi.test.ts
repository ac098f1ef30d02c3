// Every operation of /openapi.json, probed with generated requests (fast-check), checked the way Schemathesis checks:
// not_a_server_error, content_type_conformance, ignored_auth, unsupported_method, missing_required_header,
// negative_data_rejection (invalid bodies and queries are 4xx problems), use_after_free and ensure_resource_availability.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, inject, it } from "vitest";
import app from "../../src/app.ts";
import worker from "../../src/index.ts";
import { call, json, person, randomIp, team, type Person } from "../support/harness.ts";
import { redisTcpUrl } from "../support/data-sources.ts";
import { checkResponse } from "../support/openapi-responses.ts";

interface Operation {
  method: string;
  path: string;
  operationId: string;
  security?: unknown[];
  requestBody?: { content: Record<string, unknown> };
  parameters?: { name: string; in: string; required?: boolean }[];
  responses: Record<string, unknown>;
}

const methods = ["get", "post", "put", "patch", "delete"] as const;
let operations: Operation[] = [];
let owner: Person;
let values: Record<string, string> = {};

/** Through the Worker with limits raised, each answer checked against the document (test/support/openapi-responses.ts). */
async function send(method: string, path: string, init: { token?: string; body?: string; headers?: Record<string, string> } = {}) {
  const response = await unchecked(method, path, init);
  await checkResponse(method, `https://api.test${path}`, response, () => unchecked("get", "/openapi.json"));
  return response;
}

/** Through the Worker with limits raised: the fuzzer's volume is not what rate limiting is for. */
async function unchecked(method: string, path: string, init: { token?: string; body?: string; headers?: Record<string, string> } = {}) {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = { "CF-Connecting-IP": randomIp(), ...init.headers };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  const response = await worker.fetch(
    new Request(`https://api.test${path}`, { method: method.toUpperCase(), headers, body: init.body }),
    { ...env, RATE_LIMIT_FREE: "1000000", LOG_LEVEL: "error" },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

/** The checks every response must pass. */
async function conforms(response: Response, label: string, op?: Operation) {
  expect(response.status, `${label}: not_a_server_error`).toBeLessThan(500);
  if (op)
    expect(Object.keys(op.responses), `${label}: status_code_conformance (${response.status} is documented)`).toContain(
      String(response.status),
    );
  const type = response.headers.get("Content-Type") ?? "";
  if (response.status >= 400) {
    expect(type, `${label}: content_type_conformance`).toBe("application/problem+json");
    const problem = (await response.json()) as { status: number; code: string; requestId: string };
    expect(problem.status, `${label}: problem status`).toBe(response.status);
    expect(problem.code, `${label}: problem code`).toMatch(/^[A-Z_]+$/);
    expect(problem.requestId, `${label}: problem requestId`).toBe(response.headers.get("X-Request-ID"));
  } else if (response.status !== 204 && response.status !== 304) {
    expect(type, `${label}: content_type_conformance`).toMatch(/^application\/json/);
  }
  expect(response.headers.get("X-Request-ID"), `${label}: response_headers_conformance`).toBeTruthy();
  expect(response.headers.get("API-Version"), `${label}: response_headers_conformance`).toBe("1");
}

const fill = (path: string) => path.replaceAll(/\{(\w+)\}/g, (_, name: string) => values[name] ?? "00000000-0000-4000-8000-000000000000");

beforeAll(async () => {
  const doc = (await (await send("get", "/openapi.json")).json()) as {
    paths: Record<string, Record<string, Omit<Operation, "method" | "path">>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod)
      .filter(([method]) => (methods as readonly string[]).includes(method))
      .map(([method, op]) => ({ ...op, method, path })),
  );
  owner = await person("fuzz");
  const slug = await team(owner, "Fuzz team");
  const project = await json<{ id: string }>(
    await call("/api/v1/projects", { method: "POST", token: owner.token, body: { org: slug, name: "Fuzz" } }),
    201,
  );
  values = { slug, id: project.id, userId: owner.userId, schema: "public", key: "fuzz:key" };
});

/** The zod schema each operation declares for a status, straight from the route definitions the document is made of. */
function declaredSchema(method: string, path: string, status: number) {
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route" || definition.route.method !== method || definition.route.path !== path) continue;
    const content = definition.route.responses[String(status)] as
      | { content?: Record<string, { schema?: { safeParse?: (v: unknown) => { success: boolean; error?: unknown } } }> }
      | undefined;
    return content?.content?.["application/json"]?.schema;
  }
  return undefined;
}

describe("every operation in /openapi.json", () => {
  it("is described: at least the routes this suite knows", () => {
    expect(operations.length).toBeGreaterThanOrEqual(26);
  });

  it("ignored_auth: without credentials, or with bad ones, a secured operation is 401", async () => {
    const secured = operations.filter((o) => o.security?.length);
    expect(secured.length).toBeGreaterThanOrEqual(26);
    for (const op of secured) {
      const label = `${op.method.toUpperCase()} ${op.path}`;
      for (const token of [undefined, "not-a-token", "dck_forged_key"]) {
        const response = await send(op.method, fill(op.path), {
          token,
          body: op.requestBody ? "{}" : undefined,
          headers: op.requestBody ? { "Content-Type": "application/json" } : {},
        });
        expect(response.status, `${label} with ${token ?? "no token"}`).toBe(401);
        expect(response.headers.get("WWW-Authenticate"), label).toMatch(/^Bearer realm=/);
        await conforms(response, label, op);
      }
    }
  });

  it("declares on every operation whether it needs credentials, and a public one answers without them", async () => {
    for (const op of operations) expect(op.security, `${op.method.toUpperCase()} ${op.path} declares security`).toBeDefined();
    const open = operations.filter((o) => o.security?.length === 0);
    expect(open.map((o) => o.operationId).sort()).toEqual(
      ["completeMfaSignIn", "getLiveness", "getReadiness", "refreshTokens", "resendVerification", "signIn", "signUp", "verifyEmail"].sort(),
    );
    for (const op of open) {
      const label = `${op.method.toUpperCase()} ${op.path}`;
      const response = await send(op.method, fill(op.path), {
        body: op.requestBody ? "{}" : undefined,
        headers: op.requestBody ? { "Content-Type": "application/json" } : {},
      });
      expect(response.status, `${label} without credentials`).not.toBe(401);
      await conforms(response, label, op);
    }
  });

  it("unsupported_method: a method a path does not declare is 405 with Allow", async () => {
    const byPath = new Map<string, Set<string>>();
    for (const op of operations) byPath.set(op.path, (byPath.get(op.path) ?? new Set()).add(op.method.toUpperCase()));
    for (const [path, declared] of byPath) {
      for (const method of methods.map((m) => m.toUpperCase()).filter((m) => !declared.has(m))) {
        const response = await send(method, fill(path), { token: owner.token });
        expect(response.status, `${method} ${path}`).toBe(405);
        const allow = new Set(response.headers.get("Allow")?.split(", "));
        for (const m of declared) expect(allow.has(m), `${method} ${path}: Allow lists ${m}`).toBe(true);
        await conforms(response, `${method} ${path}`);
      }
    }
  });

  it("negative_data_rejection: arbitrary JSON bodies never crash an operation, and invalid ones are 4xx problems", async () => {
    const withBody = operations.filter(
      (op) => op.requestBody?.content["application/json"] && !["deleteMe", "signOut"].includes(op.operationId),
    );
    for (const op of withBody) {
      const label = `${op.method.toUpperCase()} ${op.path}`;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.jsonValue(), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }))),
          async (body) => {
            const response = await send(op.method, fill(op.path), {
              token: owner.token,
              body: JSON.stringify(body),
              headers: { "Content-Type": "application/json" },
            });
            await conforms(response, label, op);
          },
        ),
        { numRuns: 15 },
      );
      // Not JSON at all, and a media type the operation does not take.
      await conforms(
        await send(op.method, fill(op.path), { token: owner.token, body: "{ nope", headers: { "Content-Type": "application/json" } }),
        label,
        op,
      );
      const xml = await send(op.method, fill(op.path), {
        token: owner.token,
        body: "<a/>",
        headers: { "Content-Type": "application/xml" },
      });
      expect(xml.status, `${label}: wrong media type`).toBe(415);
      await conforms(xml, label, op);
    }
  });

  it("negative_data_rejection: arbitrary path and query values never crash an operation", async () => {
    const reads = operations.filter((op) => op.method === "get");
    for (const op of reads) {
      const label = `GET ${op.path}`;
      await fc.assert(
        fc.asyncProperty(
          fc.string({ maxLength: 40 }),
          fc.dictionary(fc.constantFrom("limit", "cursor", "org", "q", "actor", "action", "from", "to"), fc.string({ maxLength: 30 })),
          async (segment, query) => {
            const path = op.path.replaceAll(/\{(\w+)\}/g, () => encodeURIComponent(segment) || "x");
            const search = new URLSearchParams(query).toString();
            const response = await send("get", `${path}${search ? `?${search}` : ""}`, { token: owner.token });
            await conforms(response, label, op);
          },
        ),
        { numRuns: 15 },
      );
    }
  });

  it("positive_data_acceptance and response_schema_conformance: every readable operation answers 200 with the body it declares", async () => {
    // Through send(), like everything after the seed: the fuzzer's volume would exhaust the default limit.
    const { key } = await json<{ key: string }>(
      await send("post", `/api/v1/orgs/${values.slug}/api-keys`, {
        token: owner.token,
        body: JSON.stringify({ name: "fuzz" }),
        headers: { "Content-Type": "application/json" },
      }),
      201,
    );
    const upload = await send("post", `/api/v1/projects/${values.id}/datasets`, {
      token: owner.token,
      body: "a,b\n1,x\n2,y\n",
      headers: { "Content-Type": "text/csv" },
    });
    expect(upload.status).toBe(201);
    const dataset = (await upload.json()) as { id: string };
    const session = (await (
      await send("post", "/api/v1/sessions", {
        token: owner.token,
        body: JSON.stringify({ datasetId: dataset.id }),
        headers: { "Content-Type": "application/json" },
      })
    ).json()) as { id: string };
    const analysis = await send("post", `/api/v1/sessions/${session.id}/analyses`, {
      token: owner.token,
      body: JSON.stringify({ engine: "statistical" }),
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    });
    const analysisId = /"analysisId":"([0-9a-f-]{36})"/.exec(await analysis.text())?.[1];
    // A resumable upload (tus creation, no bytes yet) for GET /uploads/{id}.
    const resumable = await json<{ id: string }>(
      await send("post", `/api/v1/projects/${values.id}/uploads`, {
        token: owner.token,
        headers: { "Tus-Resumable": "1.0.0", "Upload-Length": "12", "Upload-Metadata": `filename ${btoa("fuzz.csv")}` },
      }),
      201,
    );
    const ids: Record<string, string> = {
      "/api/v1/uploads/{id}": resumable.id,
      "/api/v1/datasets/{id}": dataset.id,
      "/api/v1/datasets/{id}/rows": dataset.id,
      "/api/v1/datasets/{id}/rejects": dataset.id,
      "/api/v1/datasets/{id}/versions": dataset.id,
      "/api/v1/datasets/{id}/download": dataset.id,
      "/api/v1/sessions/{id}": session.id,
      "/api/v1/sessions/{id}/analyses": session.id,
      "/api/v1/sessions/{id}/messages": session.id,
      "/api/v1/sessions/{id}/export": session.id,
      "/api/v1/analyses/{id}": analysisId!,
    };
    // Data sources on the test stack's own gateways: a Postgres one for the registry and catalog reads, a Redis one (with the key) for the rest.
    const register = async (body: Record<string, unknown>) =>
      (
        await json<{ id: string }>(
          await send("post", `/api/v1/orgs/${values.slug}/data-sources`, {
            token: owner.token,
            body: JSON.stringify(body),
            headers: { "Content-Type": "application/json" },
          }),
          201,
        )
      ).id;
    const pg = await register({ kind: "postgres", name: "fuzz-pg", connectionString: env.DATABASE_URL, endpoint: env.NEON_FETCH_ENDPOINT });
    const redis = await register({
      kind: "redis",
      name: "fuzz-redis",
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
    });
    const seeded = await send("post", `/api/v1/orgs/${values.slug}/data-sources/${redis}/pipeline`, {
      token: owner.token,
      body: JSON.stringify({ commands: [["SET", values.key!, "v"]] }),
      headers: { "Content-Type": "application/json" },
    });
    expect(seeded.status).toBe(200);
    const saved = await json<{ id: string }>(
      await send("post", `/api/v1/orgs/${values.slug}/data-sources/${pg}/saved-queries`, {
        token: owner.token,
        body: JSON.stringify({ name: "fuzz", sql: "SELECT $1::int", params: [1] }),
        headers: { "Content-Type": "application/json" },
      }),
      201,
    );
    values.queryId = saved.id;
    const catalog = ["tables", "views", "functions", "types", "policies", "triggers", "foreign-tables"].map(
      (kind) => `/schemas/{schema}/${kind}`,
    );
    const postgresReads = ["", "/schemas", ...catalog, "/extensions", "/publications", "/types/typescript", "/history"];
    for (const suffix of [...postgresReads, "/saved-queries", "/saved-queries/{queryId}"])
      ids[`/api/v1/orgs/{slug}/data-sources/{id}${suffix}`] = pg;
    for (const suffix of ["/keys", "/keys/{key}", "/info", "/slowlog", "/memory"])
      ids[`/api/v1/orgs/{slug}/data-sources/{id}${suffix}`] = redis;
    // A webhook endpoint (the test receiver: nothing subscribed is emitted here) for its reads and its delivery log.
    const webhook = await json<{ id: string }>(
      await send("post", `/api/v1/orgs/${values.slug}/webhooks`, {
        token: owner.token,
        body: JSON.stringify({ url: `${inject("webhookReceiver")}/hooks/fuzz`, events: ["dataset.failed"] }),
        headers: { "Content-Type": "application/json" },
      }),
      201,
    );
    for (const suffix of ["", "/deliveries"]) ids[`/api/v1/orgs/{slug}/webhooks/{id}${suffix}`] = webhook.id;
    // A saved import on a schedule (never due here: the cron does not run in this test) for the refresh reads.
    const refresh = await json<{ id: string }>(
      await send("post", `/api/v1/orgs/${values.slug}/data-sources/${pg}/refreshes`, {
        token: owner.token,
        body: JSON.stringify({
          projectId: values.id,
          name: "fuzz-refresh",
          schedule: "weekly",
          import: { kind: "postgres", sql: "SELECT 1 AS x" },
        }),
        headers: { "Content-Type": "application/json" },
      }),
      201,
    );
    values.refreshId = refresh.id;
    for (const suffix of ["/refreshes", "/refreshes/{refreshId}"]) ids[`/api/v1/orgs/{slug}/data-sources/{id}${suffix}`] = pg;
    // Health and metrics are kept for TCP sources: a Redis one on the machine's Redis (absent without real services).
    const tcpUrl = redisTcpUrl();
    const tcp = tcpUrl ? await register({ kind: "redis", name: "fuzz-redis-tcp", url: tcpUrl }) : undefined;
    for (const suffix of ["/health", "/metrics"]) if (tcp) ids[`/api/v1/orgs/{slug}/data-sources/{id}${suffix}`] = tcp;
    // Event streams never end by themselves: they have their own tests (test/routes/events).
    const reads = operations.filter(
      (op) =>
        op.method === "get" &&
        op.path.startsWith("/api/v1/") &&
        !op.path.endsWith("/events") &&
        (tcp !== undefined || !/\/(health|metrics)$/.test(op.path)),
    );
    for (const op of reads) {
      const path = op.path.replaceAll(/\{(\w+)\}/g, (_, name: string) => (name === "id" && ids[op.path]) || values[name] || "");
      for (const token of [owner.token, key]) {
        const response = await send("get", path, { token });
        const label = `GET ${op.path} as ${token === key ? "an API key" : "a person"}`;
        if (token === key && response.status === 403) continue; // people-only routes (keys, audit log, /me)
        expect(response.status, label).toBe(200);
        // A file (a download: CSV here) must be of a declared media type; every JSON answer must match its declared schema.
        const declared = Object.keys((op.responses["200"] as { content?: Record<string, unknown> } | undefined)?.content ?? {});
        const type = response.headers.get("Content-Type")?.split(";")[0]?.trim();
        if (type !== "application/json") {
          expect(declared, `${label}: ${type} is a declared media type`).toContain(type);
          await response.body?.cancel();
          continue;
        }
        const schema = declaredSchema("get", op.path.replace(/^\/api\/v1/, ""), 200) ?? declaredSchema("get", op.path, 200);
        expect(schema?.safeParse, `${label}: a declared schema`).toBeTypeOf("function");
        const result = schema!.safeParse!(await response.json());
        expect(result.success, `${label}: ${JSON.stringify(result.error)}`).toBe(true);
      }
    }
  }, 90_000);

  it("missing_required_header: If-Match is optional, a malformed one is a 412 problem, never a crash", async () => {
    const response = await send("patch", `/api/v1/projects/${values.id}`, {
      token: owner.token,
      body: "{}",
      headers: { "Content-Type": "application/json", "If-Match": "garbage, W/" },
    });
    expect(response.status).toBe(412);
    await conforms(response, "PATCH /api/v1/projects/{id} with a malformed If-Match");
  });

  it("ensure_resource_availability and use_after_free: a created resource reads at once, and is 404 after DELETE", async () => {
    const created = await send("post", "/api/v1/projects", {
      token: owner.token,
      body: JSON.stringify({ name: "Ephemeral" }),
      headers: { "Content-Type": "application/json" },
    });
    expect(created.status).toBe(201);
    const location = created.headers.get("Location")!;
    expect((await send("get", location, { token: owner.token })).status).toBe(200);
    expect((await send("delete", location, { token: owner.token })).status).toBe(204);
    const after = await send("get", location, { token: owner.token });
    expect(after.status).toBe(404);
    await conforms(after, "GET after DELETE");
  });
});
