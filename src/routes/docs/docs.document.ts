// The OpenAPI document as served: generated from the routes, then completed with what no single route declares
// (root security, the tag list, the headers the shared middleware sets, integer formats).
import { API_VERSION } from "../../lib/openapi.ts";
import type { AppOpenAPI } from "../../lib/types.ts";

export type OpenAPIDocument = ReturnType<AppOpenAPI["getOpenAPI31Document"]>;
import { assertUniqueComponents } from "./docs.components.ts";

/** One line per tag, in the order a reader meets them. */
export const tagDescriptions: Record<string, string> = {
  Health: "Liveness and readiness of the Worker and its dependencies",
  Auth: "Sign-up, sign-in, tokens and email verification",
  Me: "The signed-in account",
  Organizations: "Workspaces that own projects, with members and roles",
  Members: "Membership, roles and invitations of an organization",
  "API keys": "Organization-bound keys for scripts",
  "Audit log": "Who did what in an organization",
  Usage: "What an organization used, by day, and its monthly LLM budget",
  Projects: "Folders of datasets and sessions",
  Datasets: "Uploaded CSV, JSON and NDJSON files, their profiles, rows and versions",
  Queries: "SQL or chart specs over a dataset, and downloads",
  Sessions: "Analysis sessions on a dataset, and their event streams",
  Analyses: "AI (or statistical) analyses: insights and charts",
  Chat: "Questions about a session's data",
  Exports: "A session's results as JSON, CSV or Markdown",
  "Data sources": "External Postgres and Redis databases: connections, catalog, reads and imports",
};

const header = (description: string, schema: Record<string, unknown> = { type: "string" }, required = false) => ({
  description,
  schema,
  ...(required ? { required } : {}),
});

/** Response headers the pipeline sets, declared once and referenced by the operations that answer them. */
const headers = {
  // Every response carries these two.
  "X-Request-ID": header("This request's id (an incoming valid one is kept); quote it when reporting a problem", { type: "string" }, true),
  "API-Version": header("The API's major version", { type: "string", example: API_VERSION }, true),
  RateLimit: header('IETF RateLimit: each bucket this request spent, e.g. `"free";r=59;t=60` (remaining r, seconds until reset t)'),
  "RateLimit-Policy": header('IETF RateLimit-Policy: each bucket this request spent, e.g. `"free";q=60;w=60` (quota q per w seconds)'),
  "Retry-After": header("Seconds to wait before retrying", { type: "integer", format: "int32", minimum: 0 }),
  ETag: header("The representation's entity tag: send it as If-None-Match to revalidate, or as If-Match to write only this version"),
  Link: header('RFC 8288 links: `<…>; rel="next"` for the next page of a list'),
  "Idempotent-Replayed": header("`true` when this is the stored response to an earlier request with the same Idempotency-Key", {
    type: "string",
    enum: ["true"],
  }),
};

const parameters = {
  IdempotencyKey: {
    name: "Idempotency-Key",
    in: "header" as const,
    required: false,
    description:
      "Makes the request safe to retry for 24 h: the same key with the same request replays the first answer; with another request it is 422, while the first is in flight 409.",
    schema: { type: "string" as const, minLength: 1, maxLength: 255 },
  },
};

const ref = (kind: "headers" | "parameters", name: string) => ({ $ref: `#/components/${kind}/${name}` });

type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: ({ name?: string; in?: string } | { $ref: string })[];
  responses: Record<string, { description?: string; headers?: Record<string, unknown> }>;
};
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** `integer` schemas get a `format` (int32 when their bounds fit, int64 otherwise), wherever they are. */
function formatIntegers(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) formatIntegers(item);
    return;
  }
  if (!node || typeof node !== "object") return;
  const schema = node as Record<string, unknown>;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes("integer") && schema.format === undefined) {
    const fits = (bound: unknown) => typeof bound === "number" && Math.abs(bound) <= 2_147_483_647;
    schema.format = fits(schema.minimum ?? schema.exclusiveMinimum) && fits(schema.maximum ?? schema.exclusiveMaximum) ? "int32" : "int64";
  }
  for (const value of Object.values(schema)) formatIntegers(value);
}

/**
 * The generator writes a nullable reference as `allOf: [{$ref}, {type: [..., "null"]}]`, which no value can
 * satisfy when it is null (the referenced schema refuses null): rewritten as `anyOf: [{$ref}, {type: "null"}]`.
 */
function nullableRefs(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) nullableRefs(item);
    return;
  }
  if (!node || typeof node !== "object") return;
  const schema = node as Record<string, unknown>;
  const parts = schema.allOf as Record<string, unknown>[] | undefined;
  const [target, extra] = parts ?? [];
  if (parts?.length === 2 && target?.$ref && Array.isArray(extra?.type) && extra.type.includes("null")) {
    const { type: _type, ...rest } = extra;
    delete schema.allOf;
    Object.assign(schema, rest, { anyOf: [target, { type: "null" }] });
  }
  for (const value of Object.values(schema)) nullableRefs(value);
}

function completeOperation(path: string, method: string, op: Operation): void {
  // Public operations say so: the root requires bearerAuth.
  if (!op.security?.length) op.security = [];
  op.description ??= `${op.summary ?? op.operationId}.`;
  if (!path.startsWith("/api/")) op.tags ??= ["Health"];
  const isList = op.parameters?.some((p) => "name" in p && p.in === "query" && p.name === "cursor") ?? false;
  if (path.startsWith("/api/") && (method === "post" || method === "patch")) {
    const declared = op.parameters?.some((p) => "name" in p && p.name?.toLowerCase() === "idempotency-key");
    if (!declared) op.parameters = [...(op.parameters ?? []), ref("parameters", "IdempotencyKey")];
  }
  // Any authenticated operation may answer 403: a role or scope short, or an organization that requires MFA of a member
  // without it (src/lib/tenancy.ts). Documented like the operation's own 401.
  const unauthorized = op.responses["401"];
  if (op.security.length > 0 && unauthorized && !op.responses["403"]) {
    op.responses["403"] = {
      ...structuredClone(unauthorized),
      description: "Authenticated, but not allowed (a role or scope short, or MFA required)",
    };
  }
  // Lists carry a weak ETag (src/middleware/list-etag.ts) and answer 304 to a matching If-None-Match.
  if (isList && method === "get") op.responses["304"] ??= { description: "Not modified: If-None-Match matched the list's ETag" };
  for (const [status, response] of Object.entries(op.responses)) {
    const own = Object.fromEntries(Object.entries(response.headers ?? {}).filter(([name]) => !(name in headers)));
    const shared: string[] = ["X-Request-ID", "API-Version"];
    if (path.startsWith("/api/")) shared.push("RateLimit", "RateLimit-Policy");
    if (status === "429" || status === "503" || status === "409" || status === "402") shared.push("Retry-After");
    const hadEtag = Object.keys(response.headers ?? {}).some((name) => name.toLowerCase() === "etag");
    if (hadEtag || (isList && (status === "200" || status === "304"))) shared.push("ETag");
    if (isList && status === "200") shared.push("Link");
    if (path.startsWith("/api/") && (method === "post" || method === "patch") && status.startsWith("2")) shared.push("Idempotent-Replayed");
    response.headers = { ...own, ...Object.fromEntries(shared.map((name) => [name, ref("headers", name)])) };
  }
}

/** The finished document for an API served at `origin`. Throws when two schemas claim one component name. */
export function openApiDocument(app: AppOpenAPI, origin: string): OpenAPIDocument {
  assertUniqueComponents(app.openAPIRegistry.definitions);
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Datacrafted API",
      version: API_VERSION,
      description:
        "Upload CSV/JSON datasets, open analysis sessions, stream AI analyses and chat about your data. " +
        "Every error is RFC 9457 `application/problem+json` with a stable `code` and the `requestId`.",
      contact: { name: "Datacrafted" },
      // `identifier` is OpenAPI 3.1's SPDX field (the generator's types know only 3.0's `url`).
      license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" } as { name: string },
    },
    servers: [{ url: origin }],
    security: [{ bearerAuth: [] }],
  });
  const used = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of methods) {
      const op = item[method] as Operation | undefined;
      if (!op) continue;
      completeOperation(path, method, op);
      for (const tag of op.tags ?? []) used.add(tag);
    }
  }
  doc.tags = [...Object.keys(tagDescriptions), ...[...used].filter((tag) => !(tag in tagDescriptions))]
    .filter((tag) => used.has(tag))
    .map((name) => ({ name, description: tagDescriptions[name] ?? name }));
  const components = {
    ...doc.components,
    headers: { ...doc.components?.headers, ...headers },
    parameters: { ...doc.components?.parameters, ...parameters },
  };
  doc.components = components;
  for (const part of [components.schemas, doc.paths]) {
    nullableRefs(part);
    formatIntegers(part);
  }
  return doc;
}
