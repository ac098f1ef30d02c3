// Who may do what: the one table of roles every route consults.
import type { ApiKeyScope, Role } from "../db/schema.ts";

const rank: Record<Role, number> = { viewer: 1, member: 2, admin: 3, owner: 4 };

/** The least role each action needs. */
export const policy = {
  "org:read": "viewer",
  "org:update": "admin",
  "org:delete": "owner",
  "members:read": "viewer",
  "members:manage": "admin",
  "api_keys:read": "admin",
  "api_keys:manage": "admin",
  "audit:read": "admin",
  /** Usage rollups (GET /orgs/{slug}/usage); setting the monthly LLM budget is for owners. */
  "usage:read": "admin",
  "budget:update": "owner",
  "projects:read": "viewer",
  "projects:write": "member",
  "projects:delete": "admin",
  "datasets:read": "viewer",
  "datasets:write": "member",
  "sessions:read": "viewer",
  "sessions:write": "member",
  /** Running an analysis or a chat turn spends the organization's model budget. */
  "analyses:run": "member",
  /** Data sources: see them and browse their structure; run read-only queries and imports; register and change them; write keys. */
  "data_sources:read": "viewer",
  "data_sources:query": "member",
  "data_sources:manage": "admin",
  "data_sources:write": "admin",
  /** Webhook endpoints, their secrets and delivery logs. */
  "webhooks:read": "admin",
  "webhooks:manage": "admin",
} as const satisfies Record<string, Role>;

export type Action = keyof typeof policy;

/** Managing an organization, its people and its keys takes a person: API keys never may, whatever their scopes. */
const peopleOnly = new Set<Action>([
  "org:update",
  "org:delete",
  "members:manage",
  "api_keys:read",
  "api_keys:manage",
  "audit:read",
  "usage:read",
  "budget:update",
  "data_sources:manage",
  "data_sources:write",
  "webhooks:read",
  "webhooks:manage",
]);

export const allows = (role: Role, action: Action) => rank[role] >= rank[policy[action]];
export const outranks = (a: Role, b: Role) => rank[a] > rank[b];
export const keyMayTake = (action: Action) => !peopleOnly.has(action);

/** The role an API key acts with inside its organization. */
export const keyRole = (scopes: ApiKeyScope[]): Role => (scopes.includes("write") ? "member" : "viewer");
