// Where a data source may point: strict parsing of connection strings and endpoints, and the address policy.
// Hosts are normalised by the WHATWG URL host parser (2130706433, 0x7f000001, 127.1 and 0177.0.0.1 all become 127.0.0.1)
// and classified by ipaddr.js: only public unicast addresses pass unless DATA_SOURCE_ALLOW_PRIVATE=true.
import ipaddr from "ipaddr.js";
import { ApiError, type FieldError } from "../../lib/problem.ts";

type Issue = { path: string; message: string };

/** Names that resolve to the machine itself or to a cloud's metadata service wherever they are asked. */
const localNames = [/^localhost$/, /\.localhost$/, /^metadata\.google\.internal$/, /\.internal$/, /^metadata$/];

/** The host in canonical form (IPv4 dotted, IPv6 bracketed and compressed, names lower-case), or a reason it is not a host. */
export function canonicalHost(raw: string): { host: string } | { problem: string } {
  if (raw === "") return { problem: "needs a host" };
  // One host only: libpq's "h1,h2" lists and anything that would end or re-open the authority are refused.
  if (/[\s,/?#@\\%]/.test(raw)) return { problem: "must be a single host name or IP address" };
  let host: string;
  try {
    host = new URL(`http://${raw}/`).hostname;
  } catch {
    return { problem: "is not a valid host name or IP address" };
  }
  if (host.endsWith(".")) host = host.slice(0, -1);
  return host ? { host } : { problem: "needs a host" };
}

/** Why `host` (canonical) may not be reached, or undefined when it may. */
export function refusedHost(host: string, allowPrivate: boolean): string | undefined {
  if (allowPrivate) return undefined;
  const bare = host.replace(/^\[|\]$/g, "");
  if (ipaddr.isValid(bare)) {
    // IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it carries.
    const range = ipaddr.process(bare).range();
    return range === "unicast" ? undefined : `${host} is a ${range} address`;
  }
  if (localNames.some((pattern) => pattern.test(host))) return `${host} names a local or metadata host`;
  return undefined;
}

/** A 422 DATA_SOURCE_ADDRESS_REFUSED naming the field, for an address the network policy refuses. */
export function addressRefused(path: string, reason: string) {
  return new ApiError(422, {
    code: "DATA_SOURCE_ADDRESS_REFUSED",
    detail: `Data sources may not reach ${reason}: loopback, private, link-local, CGNAT, ULA and metadata addresses are refused (DATA_SOURCE_ALLOW_PRIVATE).`,
    errors: [{ path, message: reason }] satisfies FieldError[],
  });
}

const invalid = (issues: Issue[]) =>
  new ApiError(400, {
    code: "VALIDATION_FAILED",
    detail: issues.map((issue) => `${issue.path} ${issue.message}`).join("; "),
    errors: issues,
  });

const decode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
};

const validPort = (port: string) => port === "" || (/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535);

/** Connection-string parameters that only choose TLS or label the session; `host`, `hostaddr`, `options`… are refused. */
const sslmodes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
export type Sslmode = (typeof sslmodes)[number];
const allowedParameters = new Set(["sslmode", "application_name", "connect_timeout", "channel_binding"]);

export interface PostgresAddress {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode: Sslmode | undefined;
}

/** A `postgres://user:password@host:port/database?sslmode=…` string, parsed strictly; malformed parts are a 400 naming `path`. */
export function parsePostgresUrl(value: string, path: string): PostgresAddress {
  const match = /^postgres(?:ql)?:\/\/(?:([^@/?#]*)@)?(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?\/([^?#]*)(?:\?([^#]*))?$/.exec(value);
  if (!match) throw invalid([{ path, message: "must be postgres://user:password@host:port/database" }]);
  const [, userinfo = "", rawHost = "", port = "", rawDatabase = "", query = ""] = match;
  const issues: Issue[] = [];
  const host = canonicalHost(rawHost);
  if ("problem" in host) issues.push({ path, message: `host ${host.problem}` });
  if (!validPort(port)) issues.push({ path, message: "port must be a number from 1 to 65535" });
  const [rawUser = "", ...rest] = userinfo.split(":");
  const user = decode(rawUser);
  const password = decode(rest.join(":"));
  const database = decode(rawDatabase);
  if (user === undefined || password === undefined || database === undefined) issues.push({ path, message: "has a malformed % escape" });
  if (database === "") issues.push({ path, message: "must name a database" });
  const parameters = new URLSearchParams(query);
  for (const name of new Set(parameters.keys())) {
    if (!allowedParameters.has(name))
      issues.push({ path, message: `parameter "${name}" is not accepted (only ${[...allowedParameters].join(", ")})` });
  }
  const sslmode = parameters.get("sslmode") ?? undefined;
  if (sslmode !== undefined && !(sslmodes as readonly string[]).includes(sslmode))
    issues.push({ path, message: `sslmode must be one of ${sslmodes.join(", ")}` });
  if (issues.length > 0 || "problem" in host) throw invalid(issues);
  return {
    host: host.host,
    port: port ? Number(port) : 5432,
    database: database!,
    user: user!,
    password: password!,
    sslmode: sslmode as PostgresAddress["sslmode"],
  };
}

/** An http(s) URL that must be a bare origin (`paths` lists the only paths accepted); the canonical origin. */
export function parseOrigin(
  value: string,
  path: string,
  { paths = [""] }: { paths?: string[] } = {},
): { origin: string; host: string; path: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid([{ path, message: "must be an http(s) URL" }]);
  }
  const issues: Issue[] = [];
  if (url.protocol !== "https:" && url.protocol !== "http:") issues.push({ path, message: "must be an http(s) URL" });
  if (url.username || url.password || /^[a-z]+:\/\/[^/]*@/i.test(value))
    issues.push({ path, message: "must not carry a user or password" });
  if (url.search || value.includes("?")) issues.push({ path, message: "must not have a query string" });
  if (url.hash || value.includes("#")) issues.push({ path, message: "must not have a fragment" });
  const given = url.pathname === "/" ? "" : url.pathname;
  if (!paths.includes(given))
    issues.push({
      path,
      message:
        paths.length > 1
          ? `may only have the path ${paths.filter(Boolean).join(" or ")}`
          : "must be a bare origin (scheme, host, port), without a path",
    });
  if (issues.length > 0) throw invalid(issues);
  return { origin: url.origin, host: url.hostname, path: given };
}

/** Refuses a source whose host the policy forbids: 422 DATA_SOURCE_ADDRESS_REFUSED naming `path`. */
export function enforceHost(host: string, allowPrivate: boolean, path: string) {
  const reason = refusedHost(host, allowPrivate);
  if (reason) throw addressRefused(path, reason);
}
