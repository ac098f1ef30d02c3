// The Worker: HTTP through the Hono app, analysis jobs through the queue consumer, cron triggers through the scheduled jobs.
import app from "./app.ts";
import { scheduled } from "./cron/index.ts";
import { queue } from "./queues/index.ts";

export { SessionRoom } from "./durable-objects/session-room/session-room.ts";
export { DatasetStore } from "./durable-objects/dataset-store/dataset-store.ts";
export { SourceConnection } from "./durable-objects/source-connection/source-connection.ts";

export default {
  fetch: app.fetch,
  queue,
  scheduled,
} satisfies ExportedHandler<Cloudflare.Env>;
