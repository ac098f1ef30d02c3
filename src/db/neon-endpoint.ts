// Where the Neon driver sends a query: the app's endpoint, or (inside withNeonEndpoint) a data source's own, with its trace.
import { AsyncLocalStorage } from "node:async_hooks";
import { neonConfig } from "@neondatabase/serverless";
import { timed } from "../lib/dependency-timing.ts";

type FetchEndpoint = Exclude<typeof neonConfig.fetchEndpoint, string>;

/** The driver's own rule (https://api.<host>/sql), for databases on Neon itself. */
const neonDefault = neonConfig.defaults.fetchEndpoint as FetchEndpoint;
const scoped = new AsyncLocalStorage<{ endpoint: string | undefined; traceparent?: string }>();
let appEndpoint: string | undefined;

/**
 * `neonConfig.fetchEndpoint` is global to the driver, but a data source may name its own HTTP
 * endpoint: one resolver reads the endpoint of the call in progress (AsyncLocalStorage), so
 * concurrent requests in an isolate never send a query to another's server.
 */
const resolve: FetchEndpoint = (host, port, options) => {
  const current = scoped.getStore();
  const endpoint = current ? current.endpoint : appEndpoint;
  return endpoint ?? neonDefault(host, port, options);
};

/**
 * The driver's fetch, with the call's W3C `traceparent` added when the call in progress has one (a data source's query made
 * for a request). The driver's `fetchOptions.headers` would replace its own headers, so the header goes on here.
 */
const tracedFetch: typeof fetch = (input, init) => {
  const current = scoped.getStore();
  // Timed for the request's Analytics Engine data point: the app's own database, or a data source's.
  if (!current) return timed("postgres", () => fetch(input, init));
  if (!current.traceparent) return timed("dataSource", () => fetch(input, init));
  const headers = new Headers(init?.headers);
  headers.set("traceparent", current.traceparent);
  return timed("dataSource", () => fetch(input, { ...init, headers }));
};

/** The app's own database endpoint (NEON_FETCH_ENDPOINT; unset: Neon's default). */
export function useAppNeonEndpoint(endpoint: string | undefined) {
  appEndpoint = endpoint;
  neonConfig.fetchEndpoint = resolve;
  neonConfig.fetchFunction = tracedFetch;
}

/**
 * Runs `fn` with every Neon query it makes sent to `endpoint` (undefined: Neon's default for the host), carrying
 * `traceparent` when given.
 */
export function withNeonEndpoint<T>(endpoint: string | undefined, fn: () => Promise<T>, traceparent?: string): Promise<T> {
  neonConfig.fetchEndpoint = resolve;
  neonConfig.fetchFunction = tracedFetch;
  return scoped.run({ endpoint, traceparent }, fn);
}
