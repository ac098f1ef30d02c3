// Validates the environment before anything runs; a bad one answers CONFIG_INVALID and logs which variables.
import { createMiddleware } from "hono/factory";
import { loadConfig } from "../env.ts";
import { ApiError } from "../lib/problem.ts";
import type { AppEnv } from "../lib/types.ts";

export const config = () =>
  createMiddleware<AppEnv>(async function config(c, next) {
    const result = loadConfig(c.env);
    if (!result.ok) {
      // The log names the variables and the rules they break; the client learns only that it is our fault.
      c.get("logger").error("configuration invalid", { problems: result.problems });
      throw new ApiError(500, {
        code: "CONFIG_INVALID",
        detail: "The service is not configured correctly; the operators have been alerted.",
      });
    }
    c.set("config", result.config);
    await next();
  });
