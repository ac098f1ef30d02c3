// Two projects: the suite inside workerd with the Worker's real bindings (pointed at the gateways the global setup starts),
// and the browser test in Node, which drives Chromium against a Worker of its own.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: "./src/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ...inject("workerVars"),
                ENVIRONMENT: "test",
                LOG_LEVEL: "error",
                ALLOWED_ORIGINS: "https://app.example.com",
                // The model is the OpenAI-compatible stub (dev/openai-stub), with short clocks so failures show quickly.
                OPENAI_API_KEY: "sk-stub-tests-only",
                OPENAI_BASE_URL: inject("openaiStub"),
                OPENAI_TIMEOUT_MS: "2500",
                OPENAI_QUEUE_TIMEOUT_MS: "2500",
                OPENAI_MAX_RETRIES: "1",
                LLM_BREAKER_THRESHOLD: "3",
                LLM_BREAKER_COOLDOWN_MS: "60000",
                SSE_HEARTBEAT_SECONDS: "1",
                // Short, so the test of an analysis whose store never gets ready falls back to the profile quickly.
                ANALYSIS_WAIT_FOR_STORE_MS: "8000",
                // Webhooks retried 1 s, 2 s, 4 s… apart for 6 s, so a test sees a retry and a dead letter (test/routes/webhooks).
                WEBHOOK_RETRY_BASE_SECONDS: "1",
                WEBHOOK_RETRY_WINDOW_SECONDS: "6",
                WEBHOOK_TIMEOUT_MS: "3000",
                // 1 MiB: a resumable CSV of a few MB is profiled in several segments (test/routes/uploads/segments.test.ts).
                INGEST_SEGMENT_BYTES: "1048576",
              },
            },
          })),
        ],
        test: {
          name: "workers",
          globalSetup: ["./test/global-setup.ts"],
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/browser/**", "test/dev-server/**", "test/contract/**", "test/tus-client/**"],
          // Generous: a loaded machine is slow, and a test waits on events and bounded polls (test/support/eventually.ts,
          // 90 s), never on a fixed budget; a passing test takes no longer for it.
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The OpenAPI document built in Node, linted by the Redocly and Spectral CLIs, and the client generated from it.
        test: {
          name: "contract",
          environment: "node",
          include: ["test/contract/**/*.test.ts"],
          testTimeout: 300_000,
        },
      },
      {
        // `npm run dev` itself (dev/dev.ts), started by the test: the dev proxy is what it checks.
        test: {
          name: "dev-server",
          environment: "node",
          include: ["test/dev-server/**/*.test.ts"],
          sequence: { groupOrder: 2 },
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        // tus-js-client (Node) against a Worker of its own over real HTTP, with a dropped connection to resume from.
        test: {
          name: "tus-client",
          environment: "node",
          globalSetup: ["./test/tus-client/global-setup.ts"],
          include: ["test/tus-client/**/*.test.ts"],
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "browser",
          environment: "node",
          globalSetup: ["./test/browser/global-setup.ts"],
          include: ["test/browser/**/*.test.ts"],
          // After the workers project, so Chromium does not compete with workerd for the CPU.
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
