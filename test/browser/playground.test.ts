// The playground (GET /) and the API reference (/docs) in a real Chromium, against a Worker on the local stack; plus the page's CSP over HTTP.
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const base = inject("playgroundUrl");
const chromiumPath = inject("chromiumPath");
const artifacts = fileURLToPath(new URL("./artifacts/", import.meta.url));
const wait = { timeout: 30_000 };

/** The CSP's nonce, and the nonces the page's inline elements carry. */
async function fetchPage() {
  const response = await fetch(`${base}/`);
  const csp = response.headers.get("Content-Security-Policy") ?? "";
  const html = await response.text();
  return {
    response,
    csp,
    html,
    nonce: /'nonce-([^']+)'/.exec(csp)?.[1],
    inlineNonces: [...html.matchAll(/<(?:script|style)\b[^>]*\snonce="([^"]+)"/g)].map((m) => m[1]),
  };
}

describe("GET / (the playground) over HTTP", () => {
  it("is an HTML page whose inline script and style carry the nonce of a strict CSP, fresh per response", async () => {
    const first = await fetchPage();
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(first.response.headers.get("Cache-Control")).toBe("no-store");
    expect(first.csp).toContain("default-src 'none'");
    expect(first.csp).toContain(`script-src 'nonce-${first.nonce}'`);
    expect(first.csp).toContain(`style-src 'nonce-${first.nonce}'`);
    expect(first.csp).toContain("connect-src 'self'");
    expect(first.csp).toContain("frame-ancestors 'none'");
    expect(first.csp).toContain("require-trusted-types-for 'script'");
    expect(first.csp).not.toContain("unsafe-inline");
    expect(first.inlineNonces).toEqual([first.nonce, first.nonce]);
    // The app-wide headers still apply.
    expect(first.response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(first.response.headers.get("X-Request-ID")).toBeTruthy();

    const second = await fetchPage();
    expect(second.nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(second.nonce).not.toBe(first.nonce);
  });

  it("leaves the other routes as they were (no CSP of its own; /docs has its own) and stays out of the OpenAPI document", async () => {
    for (const path of ["/health", "/openapi.json"]) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("Content-Security-Policy"), path).toBeNull();
      await response.arrayBuffer();
    }
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(doc.paths).not.toHaveProperty("/");
  });

  it("answers other methods with a 405 problem", async () => {
    const response = await fetch(`${base}/`, { method: "POST" });
    expect(response.status).toBe(405);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
  });
});

// Without Chromium (a fresh developer machine) this is skipped; CI=true or REQUIRE_BROWSER=1 fail in the setup instead.
describe.skipIf(!chromiumPath)(
  `the playground in Chromium${chromiumPath ? "" : " (skipped: no Chromium; apt-get install chromium)"}`,
  () => {
    let browser: Browser;
    let page: Page;
    const problems: string[] = [];

    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: chromiumPath!, headless: true });
      page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console: ${message.text()}`);
      });
    });

    afterAll(async () => {
      await browser?.close();
    });

    it("signs up and in, analyses the sample data as it streams, and draws every chart as SVG", async () => {
      await page.goto(`${base}/`);
      // A CSP violation would mean the page (or its policy) is broken: count them from the first action on.
      await page.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { cspViolations: string[] }).cspViolations = seen;
        document.addEventListener("securitypolicyviolation", (event) => seen.push(`${event.violatedDirective}: ${event.blockedURI}`));
      });

      const email = `playground-${Date.now()}@example.com`;
      await page.getByTestId("email").fill(email);
      await page.getByTestId("password").fill("correct horse battery staple");

      // Before the account exists, sign-in fails and the problem's detail is shown.
      await page.getByTestId("signin").click();
      await page.getByTestId("error").waitFor({ state: "visible", ...wait });
      const error = (await page.getByTestId("error").textContent()) ?? "";
      expect(error).toContain("The email or password is not right.");
      expect(error).toContain("INVALID_CREDENTIALS");
      expect(await page.getByTestId("use-sample").isDisabled()).toBe(true);

      await page.getByTestId("signup").click();
      await page
        .getByTestId("auth-status")
        .filter({ hasText: `Signed in as ${email}` })
        .waitFor(wait);
      expect(await page.getByTestId("error").isHidden()).toBe(true);
      expect(await page.getByTestId("use-sample").isDisabled()).toBe(false);

      // Record, in the page, the order things appear in: insights must arrive before the done state.
      await page.evaluate(() => {
        const log: string[] = [];
        (window as unknown as { arrivals: string[] }).arrivals = log;
        const insights = document.getElementById("insights")!;
        const done = document.getElementById("done")!;
        const status = document.getElementById("status")!;
        new MutationObserver((records) => {
          for (const record of records) {
            if (record.target === insights) record.addedNodes.forEach(() => log.push("insight"));
            else if (record.target === done && !done.hidden) log.push("done");
            else if (status.contains(record.target)) log.push(`status: ${status.textContent}`);
          }
        }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["hidden"], characterData: true });
      });
      // The page follows the session with EventSource, opened by a single-use stream ticket (never the access token in a URL).
      const streamRequests: { method: string; url: string; accept: string; type: string }[] = [];
      page.on("request", (request) => {
        if (/\/sessions\/[^/]+\/(events|analyses)/.test(request.url())) {
          streamRequests.push({
            method: request.method(),
            url: request.url(),
            accept: request.headers().accept ?? "",
            type: request.resourceType(),
          });
        }
      });
      await page.getByTestId("use-sample").click();
      await page.getByTestId("done").waitFor({ state: "visible", ...wait });
      const [ticket, events, start] = streamRequests;
      expect(ticket).toMatchObject({ method: "POST", url: expect.stringMatching(/\/api\/v1\/sessions\/[^/]+\/events\/ticket$/) });
      expect(events).toMatchObject({ method: "GET", type: "eventsource", accept: "text/event-stream" });
      expect(new URL(events!.url).searchParams.get("ticket")).toMatch(/^dcst_/);
      expect(events!.url).not.toContain("authorization");
      expect(start).toMatchObject({ method: "POST", url: expect.stringMatching(/\/analyses$/) });
      expect(start!.accept).not.toContain("text/event-stream");
      expect(streamRequests).toHaveLength(3);

      const arrivals = await page.evaluate(() => (window as unknown as { arrivals: string[] }).arrivals);
      expect(arrivals).toContain("status: Running (statistical engine)…");
      const firstInsight = arrivals.indexOf("insight");
      expect(firstInsight).toBeGreaterThanOrEqual(0);
      expect(firstInsight).toBeLessThan(arrivals.indexOf("done"));

      const insights = await page.getByTestId("insight").count();
      expect(insights).toBeGreaterThan(0);
      const done = (await page.getByTestId("done").textContent()) ?? "";
      expect(done).toContain(`Analysis complete: ${insights} insights`);
      expect(done).toContain("statistical engine");
      expect(await page.getByTestId("error").isHidden()).toBe(true);

      // Every chart is an SVG with marks; the sample data gives the engine's main kinds.
      const charts = await page.getByTestId("chart").evaluateAll((figures) =>
        figures.map((figure) => ({
          type: (figure as HTMLElement).dataset.chartType,
          marks: figure.querySelectorAll("svg rect, svg circle, svg path").length,
        })),
      );
      expect(charts.length).toBeGreaterThan(0);
      expect(done).toContain(`${charts.length} charts`);
      for (const chart of charts) expect(chart.marks, `${chart.type} chart`).toBeGreaterThan(0);
      // A strong correlation is a binned heatmap of every row (a scatter would be a sample of them).
      expect(new Set(charts.map((chart) => chart.type))).toEqual(new Set(["bar", "line", "heatmap", "histogram"]));

      expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: `${artifacts}playground.png`, fullPage: true });
      // The one console error allowed is the failed sign-in's 401, which the page shows as a problem.
      expect(problems.filter((problem) => !problem.includes("401"))).toEqual([]);
    });

    it("renders the API reference at /docs from the Worker's own Scalar bundle, with no console error and no other origin", async () => {
      problems.length = 0;
      const elsewhere: string[] = [];
      const origin = new URL(base).origin;
      page.on("response", (response) => {
        if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
      });
      page.on("request", (request) => {
        const url = new URL(request.url());
        if (url.protocol.startsWith("http") && url.origin !== origin) elsewhere.push(request.url());
      });
      await page.goto(`${base}/docs`);
      await page.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { cspViolations: string[] }).cspViolations = seen;
        document.addEventListener("securitypolicyviolation", (event) => seen.push(`${event.violatedDirective}: ${event.blockedURI}`));
      });
      // The document's title and an operation's summary (the first tag opens by itself), rendered by Scalar.
      await page
        .getByText("Liveness: the Worker answers (no I/O)")
        .first()
        .waitFor({ state: "visible", ...wait });
      await page
        .getByRole("heading", { name: "Datacrafted API" })
        .first()
        .waitFor({ state: "visible", ...wait });
      expect(await page.title()).toContain("Datacrafted API reference");
      // The document and the bundle both come from here; nothing is fetched from a CDN or a font host.
      expect(elsewhere).toEqual([]);
      expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
      expect(problems).toEqual([]);
    });
  },
);
