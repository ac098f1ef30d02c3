// Test harness: calls through the Worker (SELF) and seeds people with their own organizations, one set per test.
import { SELF } from "cloudflare:test";
import { expect, inject } from "vitest";
import type { StoredEmail } from "../../dev/email-stub/server.ts";
import { checkResponse } from "./openapi-responses.ts";

export const BASE = "https://api.test";

export interface CallOptions {
  method?: string;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A random client address: anonymous rate limits are per IP, and tests must not share one unless they mean to. */
export const randomIp = () => `10.${[0, 0, 0].map(() => Math.floor(Math.random() * 256)).join(".")}`;

const fetchDocument = () => SELF.fetch(`${BASE}/openapi.json`);

/**
 * SELF.fetch, with the answer checked against /openapi.json (status, headers, media type, JSON body): an
 * undocumented answer fails the test that asked for it. Every request helper here goes through it.
 */
export async function checkedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  const response = await SELF.fetch(request);
  await checkResponse(request.method, request.url, response, fetchDocument);
  return response;
}

/** A request through the whole Worker, JSON in and out. */
export async function call(path: string, { method = "GET", token, body, headers = {} }: CallOptions = {}): Promise<Response> {
  return checkedFetch(`${BASE}${path}`, {
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

/**
 * The messages the email stub received for `to`, once there are at least `min` (the Worker sends after
 * its response, so this waits for them: a bounded long poll, woken by each arrival).
 */
export async function mailTo(to: string, min = 1): Promise<StoredEmail[]> {
  const url = `${inject("emailStub")}/_stub/messages?to=${encodeURIComponent(to)}&min=${min}&wait=15000`;
  const { data } = (await (await fetch(url)).json()) as { data: StoredEmail[] };
  expect(data.length, `messages to ${to}`).toBeGreaterThanOrEqual(min);
  return data;
}

/** The token in a message's link (`…#token=…`). */
export function tokenIn(message: StoredEmail): string {
  const link = message.links.find((href) => href.includes("#token="));
  expect(link, `a link with a token in "${message.subject}"`).toBeDefined();
  return decodeURIComponent(link!.split("#token=")[1]!);
}

/** The token of the `nth` (1-based) message of a kind to `to`, waiting for it to arrive. */
export async function mailedToken(to: string, kind: "verification" | "invitation", nth = 1): Promise<string> {
  const pattern = kind === "verification" ? /^Verify your email/ : /invited you to/;
  const deadline = Date.now() + 15_000;
  for (let min = 1; ; min++) {
    const matching = (await mailTo(to, min)).filter((message) => pattern.test(message.subject));
    if (matching.length >= nth) return tokenIn(matching[nth - 1]!);
    expect(Date.now(), `${kind} message ${nth} to ${to}`).toBeLessThan(deadline);
  }
}

/** Verifies `email` through the real flow: the link the Worker emailed, then POST /auth/verify-email. */
export async function verifyByEmail(email: string) {
  const token = await mailedToken(email, "verification");
  await json(await call("/api/v1/auth/verify-email", { method: "POST", body: { token } }), 200);
}

/**
 * Signs up a new person, verifies their address through the emailed link (unless `verified: false`)
 * and signs them in.
 */
export async function person(label = "user", name?: string, { verified = true }: { verified?: boolean } = {}): Promise<Person> {
  const email = uniqueEmail(label);
  const password = `pw-${crypto.randomUUID()}`;
  await json(await call("/api/v1/auth/signup", { method: "POST", body: { email, password, ...(name ? { name } : {}) } }), 202);
  if (verified) await verifyByEmail(email);
  const tokens = await signIn(email, password);
  const me = await json<{ id: string; organizations: { slug: string; personal: boolean }[] }>(
    await call("/api/v1/me", { token: tokens.accessToken }),
    200,
  );
  return {
    email,
    password,
    tokens,
    token: tokens.accessToken,
    userId: me.id,
    personalOrg: me.organizations.find((org) => org.personal)!.slug,
  };
}

/** A team organization owned by `owner`. */
export async function team(owner: Person, name = "Team"): Promise<string> {
  const org = await json<{ slug: string }>(await call("/api/v1/orgs", { method: "POST", token: owner.token, body: { name } }), 201);
  return org.slug;
}

/** An account that signed up but never followed its verification link. */
export const unverifiedPerson = (label = "unverified", name?: string) => person(label, name, { verified: false });

/** Invites `email` to `slug` as `inviter` (202) and returns the invitation and the token emailed for it. */
export async function invite(inviter: Person, slug: string, email: string, role = "member") {
  const before = (await mailTo(email, 0)).length;
  const invitation = await json<{ id: string; email: string; role: string; status: string; expiresAt: string }>(
    await call(`/api/v1/orgs/${slug}/members`, { method: "POST", token: inviter.token, body: { email, role } }),
    202,
  );
  const messages = await mailTo(email, before + 1);
  return { invitation, token: tokenIn(messages[messages.length - 1]!) };
}

/**
 * Adds an existing (verified) person to an organization with a role, through the real flow: invited by `owner`,
 * accepted with the emailed token. Returns the invitation.
 */
export async function addMember(owner: Person, slug: string, member: Person, role: string) {
  const { invitation, token } = await invite(owner, slug, member.email, role);
  await json(await call(`/api/v1/invitations/${encodeURIComponent(token)}/accept`, { method: "POST", token: member.token }), 200);
  return invitation;
}
