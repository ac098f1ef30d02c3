// Which requests are dataset uploads: their bodies stream (no global body limit, no idempotency fingerprint).
import type { Context } from "hono";

const uploadPath = /^\/api\/v1\/projects\/[^/]+\/datasets\/?$/;
/** tus: creation (with its optional first chunk) and PATCH, whose bodies are file bytes (src/routes/uploads). */
const tusCreationPath = /^\/api\/v1\/projects\/[^/]+\/uploads\/?$/;
const tusUploadPath = /^\/api\/v1\/uploads\/[^/]+\/?$/;

/** Uploads enforce their byte limits while streaming, and are deduplicated by their content hash (or resumed by offset). */
export const isUpload = (c: Context) =>
  (c.req.method === "POST" && (uploadPath.test(c.req.path) || tusCreationPath.test(c.req.path))) ||
  (c.req.method === "PATCH" && tusUploadPath.test(c.req.path));

/** A tus resource path: OPTIONS there answers the server's tus capabilities. */
export const isTusPath = (path: string) => tusCreationPath.test(path) || tusUploadPath.test(path);
