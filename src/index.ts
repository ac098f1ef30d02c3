// The Worker: HTTP through the Hono app, cron triggers through the scheduled jobs (queues and Durable Objects join as they land).
import app from "./app.ts";
import { scheduled } from "./cron/index.ts";

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Cloudflare.Env>;
