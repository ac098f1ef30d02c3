// Every response the suite receives, checked against the document the Worker serves (/openapi.json): an
// undocumented status, a missing or malformed documented header, an undeclared media type, or a body its schema
// refuses fails the test that made the request. JSON Schema 2020-12 by @cfworker/json-schema: Ajv (and the
// validators built on it) compile schemas with `new Function`, which workerd forbids; this one interprets them.
import { dereference, type Schema as JsonSchema, validate } from "@cfworker/json-schema";

type Schema = Record<string, unknown>;
interface Header {
  required?: boolean;
  schema?: Schema;
  $ref?: string;
}
interface ResponseSpec {
  headers?: Record<string, Header>;
  content?: Record<string, { schema?: Schema }>;
}
interface Operation {
  operationId: string;
  responses: Record<string, ResponseSpec>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; headers: Record<string, Header> };
}

interface Compiled {
  doc: Document;
  /** Every component, dereferenced once: each response schema is checked against this one table. */
  lookup: ReturnType<typeof dereference>;
  routes: { pattern: RegExp; path: string; item: Record<string, Operation> }[];
  schemas: Map<string, JsonSchema>;
}

let compiled: Promise<Compiled> | undefined;

const DOCUMENT = "https://api.test/openapi.json";
/** `#/components/schemas/X` becomes an absolute `…/openapi.json#/$defs/X`, resolved in the shared table. */
const rewriteRefs = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', `"${DOCUMENT}#/$defs/`)) as T;

async function compile(fetchDocument: () => Promise<Response>): Promise<Compiled> {
  const response = await fetchDocument();
  if (response.status !== 200) throw new Error(`GET /openapi.json answered ${response.status}`);
  const doc = (await response.json()) as Document;
  const routes = Object.entries(doc.paths)
    // Longest literal paths first, so /projects/{id}/restore is not taken for /projects/{id}.
    .sort(([a], [b]) => b.replaceAll(/\{\w+\}/g, "").length - a.replaceAll(/\{\w+\}/g, "").length)
    .map(([path, item]) => ({
      path,
      item,
      pattern: new RegExp(`^${path.replaceAll(/[.*+?^$()|[\]\\]/g, "\\$&").replaceAll(/\\?\{\w+\\?\}/g, "[^/]+")}$`),
    }));
  const lookup = dereference({ $id: DOCUMENT, $defs: rewriteRefs(doc.components.schemas) } as JsonSchema);
  return { doc, lookup, routes, schemas: new Map() };
}

const resolveHeader = (doc: Document, header: Header): Header =>
  header.$ref ? (doc.components.headers[header.$ref.split("/").at(-1)!] ?? header) : header;

function check(state: Compiled, key: string, schema: Schema, value: unknown) {
  let prepared = state.schemas.get(key);
  if (!prepared) {
    // An id of its own: the table refuses two schemas under the validator's default one.
    prepared = { ...rewriteRefs(schema), $id: `${DOCUMENT}/checks/${state.schemas.size}` } as JsonSchema;
    dereference(prepared, state.lookup);
    state.schemas.set(key, prepared);
  }
  return validate(value, prepared, "2020-12", state.lookup, false);
}

/** A header value as the document's schema sees it: a number where the schema wants an integer. */
const headerValue = (value: string, schema: Schema | undefined) =>
  schema?.type === "integer" && /^-?\d+$/.test(value) ? Number(value) : value;

const readable = (errors: { instanceLocation: string; error: string }[]) =>
  errors
    .filter((e) => !e.error.startsWith("A subschema had errors") && !e.error.startsWith("Property "))
    .slice(0, 8)
    .map((e) => `${e.instanceLocation}: ${e.error}`)
    .join("; ") ||
  errors
    .slice(0, 4)
    .map((e) => `${e.instanceLocation}: ${e.error}`)
    .join("; ");

/**
 * Checks `response` (to `method` `url`) against the document; throws an Error naming what differs. Requests to
 * paths the document does not describe (the playground, /docs, legacy aliases, unknown paths) are not checked,
 * nor are methods it does not list for a path (those are the 405s the pipeline answers).
 */
export async function checkResponse(
  method: string,
  url: string,
  response: Response,
  fetchDocument: () => Promise<Response>,
): Promise<void> {
  compiled ??= compile(fetchDocument);
  const state = await compiled;
  const { pathname } = new URL(url);
  const route = state.routes.find((candidate) => candidate.pattern.test(pathname));
  const verb = method.toLowerCase() === "head" ? "get" : method.toLowerCase();
  const op = route?.item[verb];
  if (!route || !op) return;
  const where = `${method.toUpperCase()} ${pathname} (${op.operationId}) answered ${response.status}`;
  const spec = op.responses[String(response.status)] ?? op.responses[`${String(response.status)[0]}XX`] ?? op.responses.default;
  if (!spec) throw new Error(`${where}: status not documented (documented: ${Object.keys(op.responses).join(", ")})`);
  for (const [name, declared] of Object.entries(spec.headers ?? {})) {
    const header = resolveHeader(state.doc, declared);
    const value = response.headers.get(name);
    if (value === null) {
      if (header.required) throw new Error(`${where}: required header ${name} missing`);
      continue;
    }
    if (!header.schema) continue;
    const result = check(state, `header ${name} ${JSON.stringify(header.schema)}`, header.schema, headerValue(value, header.schema));
    if (!result.valid)
      throw new Error(`${where}: header ${name}: ${JSON.stringify(value)} does not match its schema: ${readable(result.errors)}`);
  }
  const type = response.headers.get("Content-Type")?.split(";")[0]?.trim().toLowerCase();
  if (!type || response.status === 204 || response.status === 304 || method.toUpperCase() === "HEAD") return;
  const media = spec.content?.[type];
  if (!media)
    throw new Error(
      `${where}: Content-Type ${type} not documented (documented: ${Object.keys(spec.content ?? {}).join(", ") || "no body"})`,
    );
  // Streams and files are checked for their media type only: reading them here would consume what the test reads.
  if (!media.schema || !(type === "application/json" || type.endsWith("+json"))) return;
  const text = await response.clone().text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${where}: ${type} body is not JSON: ${text.slice(0, 200)}`);
  }
  const result = check(state, `${op.operationId} ${response.status} ${type}`, media.schema, body);
  if (!result.valid) throw new Error(`${where}: body does not match the document: ${readable(result.errors)}\nbody: ${text.slice(0, 600)}`);
}
