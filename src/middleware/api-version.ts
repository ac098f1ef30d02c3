// Names the API version on every response, so clients and logs can tell which contract answered.
import { createMiddleware } from "hono/factory";
import { API_VERSION } from "../lib/openapi.ts";

export const apiVersion = (version = API_VERSION) =>
  createMiddleware(async function apiVersion(c, next) {
    c.header("API-Version", version);
    await next();
  });
