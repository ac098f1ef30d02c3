// scratch: upload-only timing loop
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Papa from "papaparse";
import { unstable_startWorker } from "wrangler";
import { startStack } from "../dev/stack.ts";
import { connectInspector } from "./inspector.ts";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";
const root = fileURLToPath(new URL("..", import.meta.url));
const stack = await startStack({ postgresUrl: "postgresql://postgres@127.0.0.1:5432/postgres", freshDatabase: true, redisUrl: "redis://127.0.0.1:6379/13", flushRedis: true, log: () => {} });
const vars = { ...stack.workerVars, AUTH_JWT_KEYS: `bench:${randomBytes(32).toString("base64url")}`, DATA_SOURCE_KEYS: `bench:${randomBytes(32).toString("base64url")}`, ENVIRONMENT: "test", LOG_LEVEL: "warn", RATE_LIMIT_FREE: "1000000000" };
const worker = await unstable_startWorker({ config: `${root}wrangler.toml`, bindings: Object.fromEntries(Object.entries(vars).map(([n, value]) => [n, { type: "plain_text" as const, value }])), dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: process.env.PROF ? { hostname: "127.0.0.1", port: 0 } : false, watch: false, logLevel: "warn" } });
await worker.ready;
const url = (await worker.url).origin;
const post = (path: string, body: unknown, h = {}) => fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...h }, body: JSON.stringify(body) });
const email = `b-${Date.now()}@example.com`, password = "bench-password-123";
await post("/api/v1/auth/signup", { email, password });
const { accessToken } = (await (await post("/api/v1/auth/signin", { email, password })).json()) as { accessToken: string };
const auth = { authorization: `Bearer ${accessToken}` };
const csv = readFileSync("/work/scratch/bench-50mb.csv");
const rounds = Number(process.env.ROUNDS ?? 3);
for (const mode of (process.env.MODES ?? "").split(" ").filter(Boolean)) {
  for (let r = 0; r < 2; r++) {
    const t = performance.now();
    const res = await fetch(`${url}/api/v1/projects/${(await (await post("/api/v1/projects", { name: "m" }, auth)).json() as any).id}/datasets?name=bench`, { method: "POST", headers: { ...auth, "content-type": "text/csv", "x-mode": mode }, body: new Uint8Array(csv) });
    await res.arrayBuffer();
    console.log("MODE", mode, Math.round(performance.now() - t), res.status);
  }
}
for (let r = 0; r < rounds; r++) {
  let t = performance.now(); let n = 0;
  Papa.parse(csv.toString("utf8"), { header: true, step: () => void n++ });
  const papa = performance.now() - t;
  const project = (await (await post("/api/v1/projects", { name: "b" + r }, auth)).json()) as { id: string };
  t = performance.now();
  const res = await fetch(`${url}/api/v1/projects/${project.id}/datasets?name=bench`, { method: "POST", headers: { ...auth, "content-type": "text/csv" }, body: new Uint8Array(csv) });
  const body = (await res.json()) as any;
  const up = performance.now() - t;
  console.log({ status: res.status, rows: body.rowCount, papa: Math.round(papa), upload: Math.round(up), ratio: +(papa / up).toFixed(2), code: body.code });
}
if (process.env.PROF) {
  const inspector = await connectInspector((await worker.inspectorUrl)!);
  const project = (await (await post("/api/v1/projects", { name: "prof" }, auth)).json()) as { id: string };
  const { profile } = await inspector.profile(() => fetch(`${url}/api/v1/projects/${project.id}/datasets?name=p`, { method: "POST", headers: { ...auth, "content-type": "text/csv" }, body: new Uint8Array(csv) }).then((r) => r.arrayBuffer()));
  (await import("node:fs")).writeFileSync("/work/scratch/worker.cpuprofile", JSON.stringify(profile));
  inspector.close();
}
await worker.dispose();
await stack.stop?.();
process.exit(0);
