// Tests run inside workerd with the Worker's real bindings, pointed at the gateways the global setup starts.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
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
        },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
