// The Worker: HTTP through the Hono app (queue, scheduled and Durable Objects join as they land).
import app from "./app.ts";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Cloudflare.Env>;
