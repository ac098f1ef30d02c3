// The Datacrafted API: the pipeline from createApp, then every router, then the docs that describe them.
import { createApp } from "./lib/create-app.ts";
import { mountDocs } from "./routes/docs/docs.index.ts";
import { health } from "./routes/health/health.index.ts";

const app = createApp();

app.route("/", health);
// Resource routers mount under /api/v1 as they land.

mountDocs(app);

export default app;
