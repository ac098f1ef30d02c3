// How the Worker sends mail (the Worker's fetch, called directly with an altered environment): the provider's wire format,
// and sign-up that still works when mail is not configured or the provider is down, with no address or token in the log.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import worker from "../../../src/index.ts";
import { mailTo, randomIp, tokenIn, uniqueEmail } from "../../support/harness.ts";

afterEach(() => vi.restoreAllMocks());

/** One request to the Worker with `overrides` in its environment, waiting for what it does after the response. */
async function request(overrides: Record<string, unknown>, path: string, body?: unknown) {
  const ctx = createExecutionContext();
  const init =
    body === undefined
      ? {}
      : { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", "CF-Connecting-IP": randomIp() } };
  const response = await worker.fetch(new Request(`https://api.test${path}`, init), { ...env, LOG_LEVEL: "info", ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const logged = () => {
  const spies = [vi.spyOn(console, "log"), vi.spyOn(console, "warn"), vi.spyOn(console, "error")].map((spy) =>
    spy.mockImplementation(() => {}),
  );
  return () => spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(" "))).join("\n");
};

describe("the verification mail", () => {
  it("goes to the provider in its wire format, from EMAIL_FROM, with a link at APP_URL", async () => {
    const email = uniqueEmail("wire");
    const response = await request(
      { EMAIL_FROM: "Data Team <team@datacrafted.app>", APP_URL: "https://app.example.com/" },
      "/api/v1/auth/signup",
      {
        email,
        password: "wire-password",
      },
    );
    expect(response.status).toBe(202);
    const [message] = await mailTo(email);
    expect(message).toMatchObject({
      from: "Data Team <team@datacrafted.app>",
      to: [email],
      subject: "Verify your email address for Datacrafted",
    });
    expect(message!.links).toEqual([expect.stringMatching(/^https:\/\/app\.example\.com\/verify-email#token=dcv_[\w-]{43}$/)]);
    expect(message!.html).toContain(tokenIn(message!));
  });
});

describe("without a working provider", () => {
  it("signs up when EMAIL_API_URL is unset, says so on /health/ready, and logs neither the address nor a token", async () => {
    const lines = logged();
    const email = uniqueEmail("nomail");
    const unconfigured = { EMAIL_API_URL: undefined, EMAIL_API_KEY: undefined };
    expect((await request(unconfigured, "/api/v1/auth/signup", { email, password: "nomail-password" })).status).toBe(202);
    const ready = await request(unconfigured, "/health/ready");
    expect(((await ready.json()) as { email: unknown }).email).toEqual({ status: "not_configured" });
    expect(lines()).toContain("email not sent: EMAIL_API_URL is not configured");
    expect(lines()).not.toContain(email);
    expect(lines()).not.toMatch(/dcv_/);
    expect(await mailTo(email, 0)).toEqual([]);
  });

  it("signs up when the provider does not answer, and logs the failure without the address", async () => {
    const lines = logged();
    const email = uniqueEmail("down");
    expect((await request({ EMAIL_API_URL: inject("deadUrl") }, "/api/v1/auth/signup", { email, password: "down-password" })).status).toBe(
      202,
    );
    expect(lines()).toContain("email provider unreachable");
    expect(lines()).toContain("email not sent after retrying");
    expect(lines()).not.toContain(email);
    expect(lines()).not.toMatch(/dcv_/);
  });
});
