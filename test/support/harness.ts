// Test harness: calls through the Worker (SELF) and seeds people with their own organizations, one set per test.
import { SELF } from "cloudflare:test";
import { expect } from "vitest";

export const BASE = "https://api.test";

export interface CallOptions {
  method?: string;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A random client address: anonymous rate limits are per IP, and tests must not share one unless they mean to. */
export const randomIp = () => `10.${[0, 0, 0].map(() => Math.floor(Math.random() * 256)).join(".")}`;

/** A request through the whole Worker, JSON in and out. */
export async function call(path: string, { method = "GET", token, body, headers = {} }: CallOptions = {}): Promise<Response> {
  return SELF.fetch(`${BASE}${path}`, {
    method,
    headers: {
      "CF-Connecting-IP": randomIp(),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function json<T = Record<string, unknown>>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

export const uniqueEmail = (label = "user") => `${label}-${crypto.randomUUID().slice(0, 8)}@example.com`;

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  refreshTokenExpiresAt: string;
}

export interface Person {
  email: string;
  password: string;
  tokens: Tokens;
  token: string;
  userId: string;
  /** Slug of the personal organization every account gets. */
  personalOrg: string;
}

export async function signIn(email: string, password: string): Promise<Tokens> {
  return json<Tokens>(await call("/api/v1/auth/signin", { method: "POST", body: { email, password } }), 200);
}

/** Signs up a new person and signs them in. */
export async function person(label = "user", name?: string): Promise<Person> {
  const email = uniqueEmail(label);
  const password = `pw-${crypto.randomUUID()}`;
  await json(await call("/api/v1/auth/signup", { method: "POST", body: { email, password, ...(name ? { name } : {}) } }), 202);
  const tokens = await signIn(email, password);
  const me = await json<{ id: string; organizations: { slug: string; personal: boolean }[] }>(await call("/api/v1/me", { token: tokens.accessToken }), 200);
  return { email, password, tokens, token: tokens.accessToken, userId: me.id, personalOrg: me.organizations.find((org) => org.personal)!.slug };
}

/** A team organization owned by `owner`. */
export async function team(owner: Person, name = "Team"): Promise<string> {
  const org = await json<{ slug: string }>(await call("/api/v1/orgs", { method: "POST", token: owner.token, body: { name } }), 201);
  return org.slug;
}

/** Adds an existing person to an organization with a role, as its owner. */
export async function addMember(owner: Person, slug: string, member: Person, role: string) {
  await json(await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: owner.token, body: { email: member.email, role } }), 201);
}
