// Tests run inside workerd with the Worker's real bindings, pointed at the gateways the global setup starts.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: { ...inject("workerVars"), ENVIRONMENT: "test", LOG_LEVEL: "error", ALLOWED_ORIGINS: "https://app.example.com" },
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
