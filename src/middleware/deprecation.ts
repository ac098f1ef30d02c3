// Old unversioned paths answer as their /api/v1 successors, marked with Deprecation, Sunset and a successor link.
import { createMiddleware } from "hono/factory";
import { getPathNoStrict } from "hono/utils/url";

export interface DeprecatedAlias {
  /** The old path prefix, e.g. `/api/projects`. */
  from: string;
  /** Its successor prefix, e.g. `/api/v1/projects`. */
  to: string;
  deprecatedAt: Date;
  sunset: Date;
}

/** The old Datacrafted paths whose successors keep the same shape. */
export const deprecatedAliases: DeprecatedAlias[] = [
  { from: "/api/projects", to: "/api/v1/projects", deprecatedAt: new Date("2026-11-01T00:00:00Z"), sunset: new Date("2027-06-30T00:00:00Z") },
  { from: "/api/sessions", to: "/api/v1/sessions", deprecatedAt: new Date("2026-11-01T00:00:00Z"), sunset: new Date("2027-06-30T00:00:00Z") },
];

function findAlias(path: string, aliases: DeprecatedAlias[]) {
  return aliases.find((alias) => path === alias.from || path.startsWith(`${alias.from}/`));
}

const successor = (path: string, alias: DeprecatedAlias) => alias.to + path.slice(alias.from.length);

/**
 * The router's path resolver (Hono's `getPath` option): an aliased path routes as its successor.
 * `c.req.path` then shows the successor; `new URL(c.req.url).pathname` keeps what the client sent.
 */
export function aliasingGetPath(aliases: DeprecatedAlias[]) {
  return (request: Request): string => {
    // Not strict: `/health/` routes as `/health`, as the routers (strict: false) expect.
    const path = getPathNoStrict(request);
    const alias = findAlias(path, aliases);
    return alias ? successor(path, alias) : path;
  };
}

/** Marks responses to aliased paths: RFC 9745 `Deprecation`, RFC 8594 `Sunset`, and the successor link. */
export const deprecation = (aliases: DeprecatedAlias[]) =>
  createMiddleware(async function deprecation(c, next) {
    const sent = new URL(c.req.url).pathname;
    const alias = findAlias(sent, aliases);
    if (alias) {
      c.header("Deprecation", `@${Math.floor(alias.deprecatedAt.getTime() / 1000)}`);
      c.header("Sunset", alias.sunset.toUTCString());
      c.header("Link", `<${successor(sent, alias)}>; rel="successor-version"`);
    }
    await next();
  });
