// Where a webhook may be delivered: the data sources' network policy (src/services/data-sources/network.ts) applied to a
// full URL, at creation and again at each delivery, since the policy or the configuration may have changed in between.
import { ApiError } from "../../lib/problem.ts";
import { canonicalHost, refusedHost } from "../data-sources/network.ts";

export interface WebhookUrlPolicy {
  /** DATA_SOURCE_ALLOW_PRIVATE: loopback, private, link-local and metadata hosts allowed (development and tests only). */
  allowPrivate: boolean;
  /** Plain http only in development and tests: a signed payload still travels in the clear. */
  requireHttps: boolean;
}

export const urlPolicyOf = (config: { DATA_SOURCE_ALLOW_PRIVATE: boolean; ENVIRONMENT: string }): WebhookUrlPolicy => ({
  allowPrivate: config.DATA_SOURCE_ALLOW_PRIVATE,
  requireHttps: config.ENVIRONMENT === "production",
});

/** Why `value` may not be a webhook URL under `policy`: `{ status: 400 }` for a malformed one, 422 for a refused address. */
export function checkWebhookUrl(value: string, policy: WebhookUrlPolicy): { url: string } | { status: 400 | 422; message: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { status: 400, message: "must be an absolute http(s) URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { status: 400, message: "must be an http(s) URL" };
  if (url.username || url.password || /^[a-z]+:\/\/[^/]*@/i.test(value))
    return { status: 400, message: "must not carry a user or password" };
  if (url.hash || value.includes("#")) return { status: 400, message: "must not have a fragment" };
  const host = canonicalHost(url.host);
  if ("problem" in host) return { status: 400, message: `host ${host.problem}` };
  if (policy.requireHttps && url.protocol !== "https:") return { status: 422, message: "must use https" };
  // url.hostname is already canonical (WHATWG): 2130706433 and 0x7f.1 are 127.0.0.1 here.
  const reason = refusedHost(url.hostname.replace(/\.$/, ""), policy.allowPrivate);
  if (reason) return { status: 422, message: `may not reach ${reason}` };
  return { url: url.href };
}

/** The canonical URL, or the problem (400 VALIDATION_FAILED, 422 WEBHOOK_URL_REFUSED) naming `path`. */
export function parseWebhookUrl(value: string, policy: WebhookUrlPolicy, path = "body.url"): string {
  const checked = checkWebhookUrl(value, policy);
  if ("url" in checked) return checked.url;
  if (checked.status === 400)
    throw new ApiError(400, {
      code: "VALIDATION_FAILED",
      detail: `${path} ${checked.message}`,
      errors: [{ path, message: checked.message }],
    });
  throw new ApiError(422, {
    code: "WEBHOOK_URL_REFUSED",
    detail: `The webhook URL ${checked.message}: loopback, private, link-local, CGNAT, ULA and metadata addresses are refused (DATA_SOURCE_ALLOW_PRIVATE), and https is required in production.`,
    errors: [{ path, message: checked.message }],
  });
}
