// Refuses request bodies over MAX_BODY_BYTES with a 413 problem, counting streamed bytes too.
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../lib/problem.ts";
import type { AppEnv } from "../lib/types.ts";
import { isUpload } from "../lib/uploads.ts";

export const bodyLimit = () =>
  createMiddleware<AppEnv>(async function bodyLimit(c, next) {
    if (isUpload(c)) return next();
    const maxSize = c.get("config").MAX_BODY_BYTES;
    return honoBodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError(413, { detail: `The request body is larger than the limit of ${maxSize} bytes.` });
      },
    })(c, next);
  });
