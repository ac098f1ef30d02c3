// OPTIONS on a tus path answers the server's tus capabilities (the CORS middleware answers every OPTIONS; this adds to it).
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../lib/types.ts";
import { isTusPath } from "../lib/uploads.ts";
import { TUS_EXTENSIONS, TUS_VERSION } from "../services/uploads/tus.ts";

export const tusOptions = () =>
  createMiddleware<AppEnv>(async function tusOptions(c, next) {
    await next();
    if (c.req.method !== "OPTIONS" || !isTusPath(c.req.path)) return;
    c.res.headers.set("Tus-Resumable", TUS_VERSION);
    c.res.headers.set("Tus-Version", TUS_VERSION);
    c.res.headers.set("Tus-Extension", TUS_EXTENSIONS);
    c.res.headers.set("Tus-Max-Size", String(c.get("config").MAX_RESUMABLE_UPLOAD_BYTES));
  });
