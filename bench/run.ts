// `npm run bench`: the Worker under wrangler's local runtime on the gateways, driven by autocannon from a second process.
// Prints a table and writes bench/results/latest.json.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Papa from "papaparse";
import pg from "pg";
import { startOpenAIStub } from "../dev/openai-stub/server.ts";
import { connectInspector } from "./inspector.ts";
import { startStack } from "../dev/stack.ts";
import { measureStore } from "./store.ts";
import { measureTus } from "./tus.ts";
import { measureRedisSources } from "./redis-sources.ts";
import { measureSources } from "./sources.ts";
import { measureBinary } from "./binary.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
// wrangler's debug log collects workerd's stderr, where V8's GC trace of the uploading runtime goes (read below).
const debugLog = `${root}bench/results/wrangler-debug.log`;
mkdirSync(`${root}bench/results`, { recursive: true });
rmSync(debugLog, { force: true });
process.env.WRANGLER_LOG_PATH = debugLog;
const { unstable_startWorker } = await import("wrangler");
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
// BENCH_ONLY=upload runs the upload alone (for work on the upload path); BENCH_ONLY=formats the CSV/NDJSON/JSON comparison alone;
// BENCH_ONLY=store the DatasetStore alone (load, queries and DuckDB beside them); BENCH_ONLY=costs what each kind of request costs;
// BENCH_ONLY=tus the direct upload and the resumable one (BENCH_TUS_MB, default 1024, in 64 MiB chunks) beside it;
// BENCH_ONLY=redis-sources a Redis data source over TCP and REST beside Node's clients (bench/redis-sources.ts);
// BENCH_ONLY=sources Postgres data sources alone (a one-row query on each transport, cold and warm, beside postgres.js
// from Node; bench/sources.ts).
const only = process.env.BENCH_ONLY;
// BENCH_ONLY=binary: Parquet and Excel uploads of the same rows (bench/binary.ts).
const uploadOnly = only === "upload" || only === "formats" || only === "store" || only === "tus" || only === "binary";
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

/** The machine's own servers when they answer (as in CI), else the embedded engines. */
async function realPostgres(): Promise<string | undefined> {
  const url = process.env.LOCAL_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    await client.end();
    return url;
  } catch {
    return undefined;
  }
}

const stack = await startStack({
  postgresUrl: await realPostgres(),
  freshDatabase: true,
  redisUrl: process.env.LOCAL_REDIS_URL ?? "redis://127.0.0.1:6379/14",
  flushRedis: process.env.LOCAL_REDIS_URL === undefined,
  log: (message) => console.log(`[bench] ${message}`),
});
console.log(`[bench] Postgres: ${stack.postgres}, Redis: ${stack.redis}; ${seconds} s per scenario, ${connections} connections`);

// The model: the OpenAI-compatible stub, streaming its default analysis (so the figures are ours, not a model's).
const openaiStub = await startOpenAIStub();
const vars = {
  ...stack.workerVars,
  OPENAI_API_KEY: "sk-bench-stub",
  OPENAI_BASE_URL: openaiStub.url,
  AUTH_JWT_KEYS: `bench:${randomBytes(32).toString("base64url")}`,
  DATA_SOURCE_KEYS: `bench:${randomBytes(32).toString("base64url")}`,
  ENVIRONMENT: "test",
  LOG_LEVEL: "error",
  // High enough never to refuse: the limiter runs on every request but the load is not cut short.
  RATE_LIMIT_FREE: "1000000000",
  RATE_LIMIT_LLM: "1000000000",
};
const persistDir = mkdtempSync(`${tmpdir()}/datacrafted-bench-`);
async function startWorker(extra: Record<string, string>, { inspector = false, logLevel = "error" as "error" | "warn" } = {}) {
  const worker = await unstable_startWorker({
    config: `${root}wrangler.toml`,
    bindings: Object.fromEntries(
      Object.entries({ ...vars, ...extra }).map(([name, value]) => [name, { type: "plain_text" as const, value }]),
    ),
    // State of this run and runtime only (R2, stores, the result cache): a cached result of an earlier run would pass for a first
    // run, and runtimes sharing one directory's SQLite files can find them locked.
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: inspector ? { hostname: "127.0.0.1", port: 0 } : false,
      watch: false,
      logLevel,
      persist: mkdtempSync(`${persistDir}/worker-`),
    },
  });
  await worker.ready;
  return { worker, url: (await worker.url).origin };
}
const limited = await startWorker({});
const unlimited = await startWorker({ RATE_LIMIT_ENABLED: "false" });
// A third instance serves only the upload, in a runtime of its own whose V8 heaps are capped at
// HEAP_CAP_MB: V8 aborts the process rather than grow past it, so an upload that completes stayed
// under it. Its GCs are traced, so the peak is read too. The inspector is open for BENCH_PROFILE.
const HEAP_CAP_MB = 64;
process.env.MINIFLARE_WORKERD_V8_FLAGS = `--max-heap-size=${HEAP_CAP_MB} --trace-gc`;
// (At "warn", wrangler passes workerd's stderr, where the GC trace goes, to its debug log. The flags stay
// set until the uploads are done: Miniflare may assemble the runtime's configuration again after `ready`.)
// MAX_ROWS raised for the resumable upload's file (20 M rows in 1 GB); the 50 MB file is under the default either way.
const uploader = await startWorker({ MAX_ROWS: "100000000" }, { inspector: true, logLevel: "warn" });
console.log("[bench] Workers up");

// One person to call as.
const email = `bench-${Date.now()}@example.com`;
const password = "bench-password-123";
const post = (path: string, body: unknown) =>
  fetch(`${limited.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
await post("/api/v1/auth/signup", { email, password });
const { accessToken } = (await (await post("/api/v1/auth/signin", { email, password })).json()) as { accessToken: string };

// BENCH_ONLY=costs: each kind of request alone, with what it costs in round trips and CPU (bench/costs.ts), then stop.
if (only === "costs") {
  const { measureCosts } = await import("./costs.ts");
  const costs = await measureCosts({ url: limited.url, token: accessToken, neonUrl: stack.neon.url, upstashUrl: stack.upstash.url });
  const report = {
    at: new Date().toISOString(),
    machine: { cpus: (await import("node:os")).cpus().length, load: (await import("node:os")).loadavg() },
    postgres: stack.postgres,
    redis: stack.redis,
    costs,
  };
  writeFileSync(`${root}bench/results/costs.json`, `${JSON.stringify(report, null, 2)}\n`);
  console.table(costs);
  for (const worker of [limited, uploader, unlimited]) await worker.worker.dispose();
  await stack.stop();
  await openaiStub.close();
  rmSync(persistDir, { recursive: true, force: true });
  process.exit(0);
}
// BENCH_ONLY=redis-sources: a Redis data source over TCP and REST beside the same calls from Node (bench/redis-sources.ts), alone.
if (only === "redis-sources") {
  const redisSources = await measureRedisSources({
    url: unlimited.url,
    token: accessToken,
    tcpUrl: process.env.LOCAL_REDIS_URL ?? "redis://127.0.0.1:6379/14",
    rest: { url: stack.upstash.url, token: stack.upstash.token },
  });
  console.table(redisSources.results);
  console.log("keys found per SCAN step:", redisSources.keysFoundPerScanStep);
  writeFileSync(
    `${root}bench/results/redis-sources.json`,
    `${JSON.stringify({ at: new Date().toISOString(), redis: stack.redis, ...redisSources }, null, 2)}\n`,
  );
  for (const instance of [limited, unlimited, uploader]) await instance.worker.dispose();
  await stack.stop();
  await openaiStub.close();
  rmSync(persistDir, { recursive: true, force: true });
  process.exit(0);
}
// Postgres data sources alone: their figures go to bench/results/sources.json, and the run ends there.
if (only === "sources") {
  if (stack.postgres !== "postgres")
    throw new Error("BENCH_ONLY=sources needs the machine's Postgres (LOCAL_POSTGRES_URL or 127.0.0.1:5432)");
  const org = await fetch(`${unlimited.url}/api/v1/orgs`, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench sources" }),
  });
  const { slug } = (await org.json()) as { slug: string };
  const sources = await measureSources({
    url: unlimited.url,
    token: accessToken,
    slug,
    connectionString: (await realPostgres())!,
    neon: { connectionString: stack.workerVars.DATABASE_URL, endpoint: stack.workerVars.NEON_FETCH_ENDPOINT },
  });
  console.table(sources);
  writeFileSync(
    `${root}bench/results/sources.json`,
    `${JSON.stringify({ at: new Date().toISOString(), machine: { cpus: (await import("node:os")).cpus().length }, sources }, null, 2)}\n`,
  );
  for (const worker of [limited, unlimited, uploader]) await worker.worker.dispose();
  await stack.stop();
  await openaiStub.close();
  rmSync(persistDir, { recursive: true, force: true });
  process.exit(0);
}

interface Scenario {
  name: string;
  url: string;
  headers?: Record<string, string>;
  method?: string;
  body?: string;
}
const auth = { authorization: `Bearer ${accessToken}` };
const scenarios: Scenario[] = [
  { name: "GET /health", url: `${limited.url}/health` },
  { name: "GET /api/v1/me (rate limited)", url: `${limited.url}/api/v1/me`, headers: auth },
  { name: "GET /api/v1/me (limits off)", url: `${unlimited.url}/api/v1/me`, headers: auth },
  { name: "GET /api/v1/projects", url: `${limited.url}/api/v1/projects`, headers: auth },
  {
    name: "POST /api/v1/projects",
    url: `${limited.url}/api/v1/projects`,
    headers: { ...auth, "content-type": "application/json" },
    method: "POST",
    body: JSON.stringify({ name: "bench project" }),
  },
];

const gatewayCount = async (url: string) => ((await (await fetch(`${url}/_gateway/stats`)).json()) as { requests: number }).requests;

interface Result {
  scenario: string;
  requests: number;
  non2xx: number;
  rps: number;
  p50: number;
  p99: number;
  postgresRoundTrips: number;
  redisRoundTrips: number;
}
const results: Result[] = [];
const autocannon = `${root}node_modules/.bin/autocannon`;
for (const scenario of uploadOnly ? [] : scenarios) {
  console.log(`[bench] ${scenario.name}`);
  const headerArgs = [
    ...Object.entries(scenario.headers ?? {}).flatMap(([name, value]) => ["-H", `${name}=${value}`]),
    ...(scenario.method ? ["-m", scenario.method] : []),
    ...(scenario.body ? ["-b", scenario.body] : []),
  ];
  // A short warm-up, unmeasured: first requests compile code and open connections.
  await run(autocannon, ["-c", String(connections), "-d", "2", "--json", ...headerArgs, scenario.url], { maxBuffer: 64 << 20 });
  const [pgBefore, redisBefore] = [await gatewayCount(stack.neon.url), await gatewayCount(stack.upstash.url)];
  const { stdout } = await run(autocannon, ["-c", String(connections), "-d", String(seconds), "--json", ...headerArgs, scenario.url], {
    maxBuffer: 64 << 20,
  });
  const [pgAfter, redisAfter] = [await gatewayCount(stack.neon.url), await gatewayCount(stack.upstash.url)];
  const report = JSON.parse(stdout) as {
    requests: { total: number; average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
  };
  const total = report.requests.total;
  results.push({
    scenario: scenario.name,
    requests: total,
    non2xx: report.non2xx,
    rps: Math.round(report.requests.average),
    p50: report.latency.p50,
    p99: report.latency.p99,
    postgresRoundTrips: Math.round(((pgAfter - pgBefore) / total) * 100) / 100,
    redisRoundTrips: Math.round(((redisAfter - redisBefore) / total) * 100) / 100,
  });
}

// The upload: a generated CSV of about 50 MB (1 M rows × 10 mixed columns), streamed to R2 and profiled.
function generateCsv(path: string): Buffer {
  if (existsSync(path)) return readFileSync(path);
  const regions = ["North", "South", "East", "West", "Central"];
  const lines = ["id,day,region,product,qty,price,discount,paid,rating,note"];
  let bytes = lines[0]!.length + 1;
  for (let i = 1; bytes < 49_900_000 && i < 1_000_000; i++) {
    const line = `${i},2026-${String((i % 12) + 1).padStart(2, "0")}-${String((i % 28) + 1).padStart(2, "0")},${regions[i % 5]},P${i % 97},${i % 50},${((i * 7) % 10000) / 100},${(i % 30) / 100},${i % 3 === 0},${(i % 5) + 1},"n ${i % 1000}"`;
    lines.push(line);
    bytes += line.length + 1;
  }
  const file = Buffer.from(`${lines.join("\n")}\n`);
  writeFileSync(path, file);
  return file;
}

/** The peak heap before any GC (MB used) of each isolate in V8's --trace-gc lines, e.g. "[pid:0x…] 10 ms: Scavenge 29.4 (32.3) -> 27.9 (32.8) MB". */
function gcPeaks(log: string): { isolates: number; gcs: number; peakUsedMB: number; peakCommittedMB: number } {
  const peaks = new Map<string, number>();
  let gcs = 0;
  let peakCommittedMB = 0;
  for (const [, isolate, used, committed] of log.matchAll(
    /^\[(\d+:0x[0-9a-f]+)\]\s+[\d.]+ ms: [A-Za-z-]+(?: \([a-z ]+\))? ([\d.]+) \(([\d.]+)\) ->/gm,
  )) {
    gcs++;
    peaks.set(isolate!, Math.max(peaks.get(isolate!) ?? 0, Number(used)));
    peakCommittedMB = Math.max(peakCommittedMB, Number(committed));
  }
  return { isolates: peaks.size, gcs, peakUsedMB: Math.max(0, ...peaks.values()), peakCommittedMB };
}

const csvPath = `${root}bench/results/bench-50mb.csv`;
const csv = generateCsv(csvPath);
const csvMB = statSync(csvPath).size / 1_000_000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const newProject = async (name: string) =>
  (
    (await (
      await fetch(`${limited.url}/api/v1/projects`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ name }),
      })
    ).json()) as { id: string }
  ).id;

// Three runs of papaparse in Node (parse-only, the reference), then three of our upload of the same bytes,
// each into a new project (so it is not deduplicated): medians, as one run on a shared machine varies.
// (Not interleaved: papaparse holds Node's event loop for seconds, and a pooled connection to the
// Worker can be closed by then.)
const papaRuns: number[] = [];
const uploadRuns: number[] = [];
let uploadStatus = 0;
let uploadBody: { id?: string; rowCount?: number; code?: string } = {};
const uploadedIds: string[] = [];
// (The projects are made first: a pooled connection left idle while papaparse holds the loop is closed under it.)
const uploadProjects = [await newProject("bench upload 1"), await newProject("bench upload 2"), await newProject("bench upload 3")];
const gcLogStart = existsSync(debugLog) ? readFileSync(debugLog, "utf8").length : 0;
for (let round = 0; round < (only === "formats" || only === "store" || only === "binary" ? 0 : 3); round++) {
  const papaStarted = performance.now();
  let papaRows = 0;
  Papa.parse(csv.toString("utf8"), { header: true, step: () => void papaRows++ });
  papaRuns.push((performance.now() - papaStarted) / 1000);
}
// The first upload's store loads in the same runtime (a queue job): the next upload waits for it, so neither slows the other.
async function waitForStore(token: string, id: string, timeoutMs = 300_000) {
  const started = performance.now();
  for (;;) {
    const dataset = (await (
      await fetch(`${uploader.url}/api/v1/datasets/${id}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { query: { status: string; rows: number | null; error: string | null } };
    if (dataset.query.status === "ready" || dataset.query.status === "failed" || performance.now() - started > timeoutMs)
      return dataset.query;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
for (const projectId of only === "formats" || only === "store" || only === "binary" ? [] : uploadProjects) {
  if (uploadedIds.length === 1) await waitForStore(accessToken, uploadedIds[0]!);
  const uploadStarted = performance.now();
  const response = await fetch(`${uploader.url}/api/v1/projects/${projectId}/datasets?name=bench`, {
    method: "POST",
    headers: { ...auth, "content-type": "text/csv" },
    body: new Uint8Array(csv),
  });
  uploadBody = (await response.json()) as typeof uploadBody;
  uploadRuns.push((performance.now() - uploadStarted) / 1000);
  uploadStatus = response.status;
  if (uploadStatus !== 201) break;
  uploadedIds.push(uploadBody.id!);
}
const heap = gcPeaks(existsSync(debugLog) ? readFileSync(debugLog, "utf8").slice(gcLogStart) : "");

// The last upload downloaded as Parquet from the same heap-capped runtime: time, size, peak heap, and
// that it holds every row and the same mean price as the CSV read in Node (hyparquet reads it back).
let download: Record<string, number | string | null> | null = null;
if (uploadStatus === 201 && uploadBody.id && only !== "store") {
  const logStart = existsSync(debugLog) ? readFileSync(debugLog, "utf8").length : 0;
  const started = performance.now();
  const response = await fetch(`${uploader.url}/api/v1/datasets/${uploadBody.id}/download?format=parquet`, { headers: auth });
  const file = await response.arrayBuffer();
  const seconds = (performance.now() - started) / 1000;
  const { parquetMetadata, parquetReadObjects } = await import("hyparquet");
  const metadata = parquetMetadata(file);
  const prices = (await parquetReadObjects({ file, columns: ["price"] })).map((row) => row.price as number);
  const csvPrices = csv
    .toString("utf8")
    .split("\n")
    .slice(1, -1)
    .map((line) => Number(line.split(",")[5]));
  const mean = (values: number[]) => values.reduce((total, value) => total + value, 0) / values.length;
  download = {
    status: response.status,
    parquetMB: Math.round((file.byteLength / 1_000_000) * 10) / 10,
    seconds: Math.round(seconds * 100) / 100,
    rows: Number(metadata.num_rows),
    rowGroups: metadata.row_groups.length,
    meanPrice: mean(prices),
    meanPriceFromCsv: mean(csvPrices),
    heapPeakUsedMB: gcPeaks(existsSync(debugLog) ? readFileSync(debugLog, "utf8").slice(logStart) : "").peakUsedMB,
  };
}
delete process.env.MINIFLARE_WORKERD_V8_FLAGS;
const [papaSeconds, uploadSeconds] = [median(papaRuns), median(uploadRuns)];
const upload = {
  status: uploadStatus,
  fileMB: Math.round(csvMB * 10) / 10,
  rows: uploadBody.rowCount ?? null,
  seconds: Math.round(uploadSeconds * 100) / 100,
  secondsEach: uploadRuns.map((run) => Math.round(run * 100) / 100),
  mbPerSecond: Math.round((csvMB / uploadSeconds) * 10) / 10,
  papaparseSecondsEach: papaRuns.map((run) => Math.round(run * 100) / 100),
  papaparseMbPerSecond: Math.round((csvMB / papaSeconds) * 10) / 10,
  ratioToPapaparse: Math.round((papaSeconds / uploadSeconds) * 100) / 100,
  heapCapMB: HEAP_CAP_MB,
  heapPeakUsedMB: heap.peakUsedMB,
  heapPeakCommittedMB: heap.peakCommittedMB,
  gcs: heap.gcs,
};

/** The 20 functions of a CPU profile with the most self time. */
function topFunctions(profile: unknown) {
  const { nodes, samples, timeDeltas } = profile as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const selfMs = new Map<number, number>();
  samples.forEach((node, i) => selfMs.set(node, (selfMs.get(node) ?? 0) + (timeDeltas[i] ?? 0) / 1000));
  const byFunction = new Map<string, number>();
  for (const node of nodes) {
    const name = `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").pop()}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + (selfMs.get(node.id) ?? 0));
  }
  return [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([fn, ms]) => ({ function: fn, selfMs: Math.round(ms) }));
}

// BENCH_PROFILE=1: the same upload once more (into another project, so it is not deduplicated) under the
// CPU profiler; the profile goes to bench/results/upload.cpuprofile and the top functions by self time are printed.
if (process.env.BENCH_PROFILE === "1") {
  const inspector = await connectInspector((await uploader.worker.inspectorUrl)!);
  const other = await newProject("profile");
  const { profile } = await inspector.profile(() =>
    fetch(`${uploader.url}/api/v1/projects/${other}/datasets?name=profile`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/csv" },
      body: new Uint8Array(csv),
    }).then((response) => response.arrayBuffer()),
  );
  writeFileSync(`${root}bench/results/upload.cpuprofile`, JSON.stringify(profile));
  console.table(topFunctions(profile));
  inspector.close();
}
if (uploadStatus !== 201 && only !== "store" && only !== "binary") console.error("[bench] upload failed:", uploadBody);

// The same rows as CSV, NDJSON and one JSON array (on one line), each about 45 MB, and one NDJSON line of
// 45 MB (a single long value): MB/s of each upload, in this run. The JSON rows have typed values (numbers,
// booleans). To the Worker without the heap cap: a 45 MB line is held whole (as the string JSON.parse reads).
async function measureFormats() {
  const lines = csv.toString("utf8").split("\n");
  const header = lines[0]!.split(",");
  const typed = (cell: string) =>
    cell === "true" || cell === "false" ? cell === "true" : /^-?\d+(\.\d+)?$/.test(cell) ? Number(cell) : cell.replace(/^"|"$/g, "");
  const objects: string[] = [];
  let ndjsonBytes = 0;
  for (let i = 1; i < lines.length && lines[i] && ndjsonBytes < 45_000_000; i++) {
    const cells = lines[i]!.split(",");
    const line = JSON.stringify(Object.fromEntries(header.map((name, j) => [name, typed(cells[j]!)])));
    objects.push(line);
    ndjsonBytes += line.length + 1;
  }
  const rows = objects.length;
  const files: [string, string, string][] = [
    ["csv", "text/csv", `${lines.slice(0, rows + 1).join("\n")}\n`],
    ["ndjson", "application/x-ndjson", `${objects.join("\n")}\n`],
    ["json array, one line", "application/json", `[${objects.join(",")}]`],
    ["ndjson, one 45 MB line", "application/x-ndjson", `{"note":"${"x".repeat(45_000_000)}"}\n`],
  ];
  const out = [];
  for (const [format, type, body] of files) {
    const projectId = await newProject(`bench ${format}`);
    const bytes = Buffer.from(body);
    const started = performance.now();
    // (A runtime that dies mid-upload, as one out of memory does, is a result too: wrangler restarts it.)
    const answer = await fetch(`${limited.url}/api/v1/projects/${projectId}/datasets?name=bench`, {
      method: "POST",
      headers: { ...auth, "content-type": type },
      body: new Uint8Array(bytes),
    })
      .then(async (response) => ({ ...((await response.json()) as { rowCount?: number; code?: string }), status: response.status }))
      .catch((error: unknown) => ({
        status: 0,
        rowCount: undefined,
        code: `failed: ${error instanceof Error ? error.message : String(error)}`,
      }));
    const seconds = (performance.now() - started) / 1000;
    const result = {
      format,
      status: answer.status,
      fileMB: Math.round(bytes.length / 100_000) / 10,
      rows: answer.rowCount ?? answer.code ?? null,
      seconds: Math.round(seconds * 100) / 100,
      mbPerSecond: Math.round((bytes.length / 1_000_000 / seconds) * 10) / 10,
    };
    console.log("[bench]", JSON.stringify(result));
    out.push(result);
  }
  return out;
}
const formats = only === "upload" || only === "store" || only === "tus" || only === "binary" ? [] : await measureFormats();
/** Peak heap (MB used) of the heap-capped runtime from now: call the answer when the work is done. */
const heapSince = () => {
  const start = existsSync(debugLog) ? readFileSync(debugLog, "utf8").length : 0;
  return () => gcPeaks(existsSync(debugLog) ? readFileSync(debugLog, "utf8").slice(start) : "").peakUsedMB;
};
// Parquet and Excel of the same rows, to the heap-capped runtime (bench/binary.ts).
const binary =
  only === undefined || only === "binary"
    ? await measureBinary(csv, {
        url: uploader.url,
        auth,
        newProject,
        waitForStore: (id) => waitForStore(accessToken, id),
        mark: () => {
          const start = existsSync(debugLog) ? readFileSync(debugLog, "utf8").length : 0;
          return () => gcPeaks(readFileSync(debugLog, "utf8").slice(start)).peakUsedMB;
        },
      })
    : [];
// The DatasetStore (bench/store.ts): the same bytes uploaded by a new organization (so its store loads alone, after the
// uploads above have loaded theirs) in the heap-capped runtime: the upload beside DuckDB's SUMMARIZE, the load (from the
// upload's 201 to query.status "ready", polled every 50 ms, so the queue's delivery is included) and five queries, first run
// and cached through the API, beside DuckDB running them on a table of the same file, one thread.
let store: Awaited<ReturnType<typeof measureStore>> | null = null;
let grounded: Awaited<ReturnType<typeof measureGrounded>> | null = null;
if (only === undefined || only === "store") {
  if (uploadedIds.length > 0) await waitForStore(accessToken, uploadedIds[0]!);
  const storeEmail = `bench-store-${Date.now()}@example.com`;
  await post("/api/v1/auth/signup", { email: storeEmail, password });
  const storeToken = ((await (await post("/api/v1/auth/signin", { email: storeEmail, password })).json()) as { accessToken: string })
    .accessToken;
  const projectId = (
    (await (
      await fetch(`${limited.url}/api/v1/projects`, {
        method: "POST",
        headers: { authorization: `Bearer ${storeToken}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "bench store" }),
      })
    ).json()) as { id: string }
  ).id;
  // BENCH_PROFILE=load: the load under the CPU profiler (the store runs in the same isolate locally), to bench/results/load.cpuprofile.
  const profileLoad = process.env.BENCH_PROFILE === "load" ? await connectInspector((await uploader.worker.inspectorUrl)!) : undefined;
  const profile = profileLoad
    ? async <T>(work: () => Promise<T>) => {
        const { result, profile } = await profileLoad.profile(work);
        writeFileSync(`${root}bench/results/load.cpuprofile`, JSON.stringify(profile));
        console.table(topFunctions(profile));
        return result;
      }
    : undefined;
  store = await measureStore({ url: uploader.url, token: storeToken, projectId, csvPath, fileMB: csvMB, heapSince, profile });
  profileLoad?.close();
  console.table([store.profile]);
  console.table([store.load]);
  console.table(store.queries);
  console.log("a refused query's p50 ms (auth, rate limit and dataset lookup: the floor under a cached answer):", store.floorMsP50);
  if (store.load.status === "ready") grounded = await measureGrounded(storeToken, store.datasetId);
}

// The resumable upload (bench/tus.ts) beside the direct path on the 50 MB file, both to a store ready: the direct one's
// upload + load per MB is what the tus path's per-MB time is compared with (the goal is within 1.5x).
let resumable: (Awaited<ReturnType<typeof measureTus>> & { directReadySecondsPerMB: number | null }) | null = null;
if (only === undefined || only === "tus") {
  if (uploadedIds.length > 0) await waitForStore(accessToken, uploadedIds[0]!);
  // The file plus a copy of its first row: other bytes, so neither the dataset nor its store (named by the file's hash) is
  // reused from the upload runs above, and the direct path's time includes a whole load.
  const firstRowEnd = csv.indexOf(10, csv.indexOf(10) + 1) + 1;
  const directCsv = Buffer.concat([csv, csv.subarray(csv.indexOf(10) + 1, firstRowEnd)]);
  const directStarted = performance.now();
  const direct = (await (
    await fetch(`${uploader.url}/api/v1/projects/${await newProject("bench direct to ready")}/datasets?name=direct`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/csv" },
      body: new Uint8Array(directCsv),
    })
  ).json()) as { id?: string };
  const directReady = direct.id ? await waitForStore(accessToken, direct.id).then(() => performance.now()) : null;
  const megabytes = Number(process.env.BENCH_TUS_MB ?? 1024);
  resumable = {
    ...(await measureTus({
      url: uploader.url,
      token: accessToken,
      projectId: await newProject("bench tus"),
      path: `${root}bench/results/bench-tus-${megabytes}mb.csv`,
      megabytes,
      heapSince,
    })),
    directReadySecondsPerMB: directReady ? Math.round(((directReady - directStarted) / 1000 / csvMB) * 1000) / 1000 : null,
  };
  const { queried, ...figures } = resumable;
  console.table([figures]);
  console.log("the resumable upload's store, queried:", queried);
}

// A statistical analysis over the loaded store (every figure and chart in SQL over all rows): time to `done`, in the
// uploader's runtime where the store lives. Its summary names any figure left out for taking longer than QUERY_TIMEOUT_MS.
async function measureGrounded(token: string, datasetId: string) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const session = (await (
    await fetch(`${uploader.url}/api/v1/sessions`, { method: "POST", headers, body: JSON.stringify({ datasetId }) })
  ).json()) as { id: string };
  const started = performance.now();
  const response = await fetch(`${uploader.url}/api/v1/sessions/${session.id}/analyses`, {
    method: "POST",
    headers: { ...headers, accept: "text/event-stream" },
    body: JSON.stringify({ engine: "statistical" }),
  });
  const text = await response.text();
  const seconds = (performance.now() - started) / 1000;
  const done = /event: done\ndata: (.*)\n/.exec(text);
  const analysisId = done ? (JSON.parse(done[1]!) as { analysisId: string }).analysisId : null;
  const analysis = analysisId
    ? ((await (await fetch(`${uploader.url}/api/v1/analyses/${analysisId}`, { headers })).json()) as {
        summary: string;
        insights: unknown[];
        charts: unknown[];
      })
    : null;
  const result = {
    engine: "statistical (store)",
    status: analysis ? "succeeded" : "failed",
    seconds: Math.round(seconds * 100) / 100,
    insights: analysis?.insights.length ?? null,
    charts: analysis?.charts.length ?? null,
    leftOut: analysis ? (/Left out because computing them took too long: ([^.]*)\./.exec(analysis.summary)?.[1] ?? "") : null,
  };
  console.table([result]);
  return result;
}

// Analyses: time to the first SSE event and to `done`, and round trips per analysis, run one at a time
// so the gateways' counters belong to it (audit rows written after the response included).
const analysisProject = await newProject("bench analyses");
async function measureAnalyses(engine: "openai" | "statistical", runs: number) {
  const lines = ["day,region,units,revenue"];
  for (let i = 0; i < 500; i++)
    lines.push(
      `2026-01-${String((i % 28) + 1).padStart(2, "0")},${["north", "south", "east"][i % 3]},${10 + (i % 40)},${(10 + (i % 40)) * 12.5}`,
    );
  const uploaded = await fetch(`${limited.url}/api/v1/projects/${analysisProject}/datasets?name=analysis-${engine}`, {
    method: "POST",
    headers: { ...auth, "content-type": "text/csv" },
    body: `${lines.join("\n")}\n`,
  });
  const dataset = (await uploaded.json()) as { id: string };
  const session = (await (
    await fetch(`${limited.url}/api/v1/sessions`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ datasetId: dataset.id }),
    })
  ).json()) as { id: string };
  const first: number[] = [];
  const done: number[] = [];
  let failures = 0;
  const [pgBefore, redisBefore] = [await gatewayCount(stack.neon.url), await gatewayCount(stack.upstash.url)];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const response = await fetch(`${limited.url}/api/v1/sessions/${session.id}/analyses`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ engine }),
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let firstAt = 0;
    for (;;) {
      const { done: ended, value } = await reader.read();
      if (ended) break;
      text += value;
      if (!firstAt && text.includes("event: ")) firstAt = performance.now() - started;
    }
    if (!text.includes("event: done")) failures++;
    first.push(firstAt);
    done.push(performance.now() - started);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const [pgAfter, redisAfter] = [await gatewayCount(stack.neon.url), await gatewayCount(stack.upstash.url)];
  const median = (values: number[]) => Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]! * 10) / 10;
  return {
    engine,
    runs,
    failures,
    firstEventMsP50: median(first),
    doneMsP50: median(done),
    doneMsMax: Math.round(Math.max(...done)),
    postgresRoundTrips: Math.round(((pgAfter - pgBefore) / runs) * 100) / 100,
    redisRoundTrips: Math.round(((redisAfter - redisBefore) / runs) * 100) / 100,
  };
}
const analysisRuns = Number(process.env.BENCH_ANALYSES ?? 20);
const analysis = uploadOnly ? [] : [await measureAnalyses("openai", analysisRuns), await measureAnalyses("statistical", analysisRuns)];

// Sign-in and sign-up must not tell who is registered, by answer or by time: the same calls for a
// known and an unknown address, timed (on the instance with limits off, so none is refused).
async function meanMs(times: number, request: (i: number) => Promise<Response>) {
  const spent: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await (await request(i)).arrayBuffer();
    spent.push(performance.now() - started);
  }
  spent.sort((a, b) => a - b);
  return Math.round(spent[Math.floor(spent.length / 2)]! * 10) / 10;
}
const postTo = (path: string, body: unknown) =>
  fetch(`${unlimited.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const enumeration = uploadOnly
  ? null
  : {
      signinKnownMs: await meanMs(30, () => postTo("/api/v1/auth/signin", { email, password: "wrong-password-1" })),
      signinUnknownMs: await meanMs(30, (i) =>
        postTo("/api/v1/auth/signin", { email: `nobody-${i}@example.com`, password: "wrong-password-1" }),
      ),
      signupTakenMs: await meanMs(30, () => postTo("/api/v1/auth/signup", { email, password: "another-password-1" })),
      signupNewMs: await meanMs(30, (i) =>
        postTo("/api/v1/auth/signup", { email: `new-${Date.now()}-${i}@example.com`, password: "another-password-1" }),
      ),
    };

const health = results[0];
const table = results.map((result) => ({
  ...result,
  "rps vs /health": Math.round((result.rps / health!.rps) * 100) / 100,
}));
const [on, off] = [results[1], results[2]];
const summary = {
  at: new Date().toISOString(),
  machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
  postgres: stack.postgres,
  redis: stack.redis,
  seconds,
  connections,
  results: table,
  rateLimitOverhead:
    on && off ? { p50Ms: on.p50 - off.p50, p99Ms: on.p99 - off.p99, rpsRatio: Math.round((on.rps / off.rps) * 100) / 100 } : null,
  upload,
  resumable,
  formats,
  binary,
  download,
  store,
  grounded,
  analysis,
  enumeration,
};
writeFileSync(`${root}bench/results/latest.json`, `${JSON.stringify(summary, null, 2)}\n`);
console.table(table);
console.log("rate limiting adds:", summary.rateLimitOverhead);
console.table([upload]);
console.table(formats);
console.table(binary);
console.table([download]);
if (store) {
  console.table([store.profile]);
  console.table([store.load]);
  console.table(store.queries);
}
console.table(analysis);
console.log("median ms, known vs unknown address:", enumeration);

await limited.worker.dispose();
await uploader.worker.dispose();
await unlimited.worker.dispose();
await stack.stop();
await openaiStub.close();
rmSync(persistDir, { recursive: true, force: true });
