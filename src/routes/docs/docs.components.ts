// One name, one schema: the generator keeps the first schema registered under a component name and silently
// drops the others, so a second `.openapi("Session")` would document the wrong shape. This finds them first.
import { getRefId } from "@asteasolutions/zod-to-openapi";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";

type ZodNode = { _zod: { def: Record<string, unknown> & { type: string } } };
/** A schema, not a check (checks carry `_zod` too). */
const isZod = (value: unknown): value is ZodNode =>
  typeof value === "object" && value !== null && "_zod" in value && typeof (value as { safeParse?: unknown }).safeParse === "function";

/** Wrappers that carry their inner schema's name (`Problem.nullable()` is still Problem, not another one). */
const wrappers = new Set(["optional", "nullable", "default", "prefault", "readonly", "catch", "nonoptional", "pipe"]);

function children(def: Record<string, unknown>): unknown[] {
  const found: unknown[] = [];
  for (const [key, value] of Object.entries(def)) {
    if (key === "getter" && typeof value === "function") found.push(value());
    else if (isZod(value)) found.push(value);
    else if (Array.isArray(value)) found.push(...value.filter(isZod));
    else if (key === "shape" && value && typeof value === "object") found.push(...Object.values(value));
  }
  return found;
}

/**
 * Throws when two different zod schemas register one component name. Copies made by `.openapi({...})` or
 * `.describe()` share their original's definition, so they count as the same schema; so do wrappers.
 */
export function assertUniqueComponents(definitions: OpenAPIRegistry["definitions"]): void {
  const owners = new Map<string, Set<object>>();
  const seen = new Set<object>();
  const pending: unknown[] = [];
  for (const definition of definitions) {
    if (definition.type === "schema") pending.push(definition.schema);
    if (definition.type !== "route") continue;
    const { request, responses } = definition.route;
    pending.push(request?.params, request?.query, request?.headers, request?.cookies);
    const answers = Object.values(responses) as { content?: Record<string, { schema?: unknown }>; headers?: unknown }[];
    for (const content of [request?.body?.content, ...answers.map((answer) => answer.content)]) {
      for (const media of Object.values(content ?? {})) pending.push((media as { schema?: unknown }).schema);
    }
    for (const answer of answers) pending.push(answer.headers);
  }
  while (pending.length > 0) {
    const node = pending.pop();
    if (!isZod(node) || seen.has(node)) continue;
    seen.add(node);
    const def = node._zod.def;
    const name = getRefId(node as never);
    const inner = children(def);
    const wrapsSameName = wrappers.has(def.type) && inner.some((child) => isZod(child) && getRefId(child as never) === name);
    if (name && !wrapsSameName) {
      const set = owners.get(name) ?? new Set<object>();
      owners.set(name, set.add(def));
    }
    pending.push(...inner);
  }
  const clashes = [...owners].filter(([, defs]) => defs.size > 1).map(([name, defs]) => `${name} (${defs.size} schemas)`);
  if (clashes.length > 0) throw new Error(`OpenAPI component names registered by more than one schema: ${clashes.join(", ")}`);
}
