// The webhook URL policy (src/services/webhooks/url.ts): the data sources' address rules, on a full URL.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../src/lib/problem.ts";
import { checkWebhookUrl, parseWebhookUrl } from "../../../src/services/webhooks/url.ts";

const strict = { allowPrivate: false, requireHttps: true };

describe("webhook URLs with the policy on", () => {
  it("refuse loopback, private, link-local, CGNAT, ULA and metadata hosts, however they are written", () => {
    for (const url of [
      "https://127.0.0.1/hook",
      "https://2130706433/hook",
      "https://0x7f.1/hook",
      "https://localhost:8443/hook",
      "https://api.localhost/hook",
      "https://10.1.2.3/hook",
      "https://192.168.0.10/hook",
      "https://172.16.5.4/hook",
      "https://100.64.0.1/hook",
      "https://169.254.169.254/latest/meta-data",
      "https://metadata.google.internal/",
      "https://[::1]/hook",
      "https://[fd00::1]/hook",
      "https://[::ffff:127.0.0.1]/hook",
    ]) {
      const checked = checkWebhookUrl(url, strict);
      expect(checked, url).toMatchObject({ status: 422 });
    }
  });

  it("require https, and accept a public https URL with a path and query", () => {
    expect(checkWebhookUrl("http://hooks.example.com/x", strict)).toEqual({ status: 422, message: "must use https" });
    expect(checkWebhookUrl("https://hooks.example.com/in/datacrafted?team=7", strict)).toEqual({
      url: "https://hooks.example.com/in/datacrafted?team=7",
    });
    expect(checkWebhookUrl("https://93.184.215.14:8443/x", strict)).toEqual({ url: "https://93.184.215.14:8443/x" });
  });

  it("answer 422 WEBHOOK_URL_REFUSED for a refused address and 400 for a malformed URL", () => {
    const refused = (() => {
      try {
        parseWebhookUrl("https://10.0.0.1/x", strict);
      } catch (error) {
        return error;
      }
    })() as ApiError;
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 422, code: "WEBHOOK_URL_REFUSED", errors: [{ path: "body.url" }] });
    for (const url of ["//hooks.example.com", "javascript:alert(1)", "https://u:p@hooks.example.com/", "https://hooks.example.com/#x"]) {
      expect(() => parseWebhookUrl(url, strict), url).toThrow(expect.objectContaining({ status: 400, code: "VALIDATION_FAILED" }));
    }
  });

  it("let loopback and plain http through when private addresses are allowed (development and tests)", () => {
    expect(checkWebhookUrl("http://127.0.0.1:9999/hooks/x", { allowPrivate: true, requireHttps: false })).toEqual({
      url: "http://127.0.0.1:9999/hooks/x",
    });
  });
});
