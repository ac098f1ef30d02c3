// Which requests are dataset uploads: their bodies stream (no global body limit, no idempotency fingerprint).
import type { Context } from "hono";

const uploadPath = /^\/api\/v1\/projects\/[^/]+\/datasets\/?$/;

/** Uploads enforce MAX_UPLOAD_BYTES while streaming, and are deduplicated by their content hash. */
export const isUpload = (c: Context) => c.req.method === "POST" && uploadPath.test(c.req.path);
