// The DatasetStore in the bench: the upload-and-profile beside DuckDB's SUMMARIZE, the load into the store, and five fixed
// queries (first run and cached, through the API) beside DuckDB running the same query on the same file, one thread.
import { readdirSync, readFileSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";

export interface StoreBenchOptions {
  /** The Worker that uploads and loads (the heap-capped one). */
  url: string;
  token: string;
  projectId: string;
  csvPath: string;
  fileMB: number;
  /** Peak heap (MB used) in the runtime's GC trace since `mark()` was taken. */
  heapSince: () => () => number;
  cachedRuns?: number;
  /** Runs the load's wait under the CPU profiler (BENCH_PROFILE=load). */
  profile?: <T>(work: () => Promise<T>) => Promise<T>;
}

/** Each query in both dialects over the bench's columns (id,day,region,product,qty,price,discount,paid,rating,note). */
const QUERIES: { name: string; sqlite: string; duckdb: string }[] = [
  {
    name: "count by region",
    sqlite: `SELECT region, count(*) AS n FROM dataset GROUP BY region ORDER BY region`,
    duckdb: `SELECT region, count(*) AS n FROM dataset GROUP BY region ORDER BY region`,
  },
  {
    name: "mean price by region",
    sqlite: `SELECT region, avg(price) AS mean FROM dataset GROUP BY region ORDER BY region`,
    duckdb: `SELECT region, avg(price) AS mean FROM dataset GROUP BY region ORDER BY region`,
  },
  {
    name: "sum qty by month",
    sqlite: `SELECT strftime('%Y-%m', day) AS month, sum(qty) AS total FROM dataset GROUP BY month ORDER BY month`,
    duckdb: `SELECT strftime(day, '%Y-%m') AS month, sum(qty) AS total FROM dataset GROUP BY month ORDER BY month`,
  },
  {
    name: "top 10 of 97 products by mean price",
    sqlite: `SELECT product, avg(price) AS mean FROM dataset GROUP BY product ORDER BY mean DESC, product LIMIT 10`,
    duckdb: `SELECT product, avg(price) AS mean FROM dataset GROUP BY product ORDER BY mean DESC, product LIMIT 10`,
  },
  {
    name: "filtered count",
    sqlite: `SELECT count(*) AS n FROM dataset WHERE region = 'North' AND price > 50 AND paid = 1`,
    duckdb: `SELECT count(*) AS n FROM dataset WHERE region = 'North' AND price > 50 AND paid`,
  },
];

/**
 * CPU seconds (user + system) spent so far by the workerd processes this bench started: the load's cost in CPU, which a machine
 * shared with other work does not inflate the way it inflates wall time (the other Workers are idle meanwhile).
 */
export function workerdCpuSeconds(): number {
  const parents = new Map<number, { ppid: number; comm: string; ticks: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      parents.set(Number(entry), { ppid: Number(fields[1]), comm, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the process ended meanwhile
    }
  }
  const ours = (pid: number): boolean => {
    for (let at = parents.get(pid); at; at = parents.get(at.ppid)) if (at.ppid === process.pid) return true;
    return false;
  };
  let ticks = 0;
  for (const [pid, info] of parents) if (info.comm === "workerd" && ours(pid)) ticks += info.ticks;
  return ticks / 100; // USER_HZ
}

const ms = (started: number) => Math.round((performance.now() - started) * 10) / 10;
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Cells as plain values: DuckDB's bigints as numbers, booleans as 0/1 (SQLite's). */
const plain = (rows: unknown[][]) =>
  rows.map((row) => row.map((cell) => (typeof cell === "bigint" || typeof cell === "boolean" ? Number(cell) : cell)));

/** The same rows, numbers equal to a relative 1e-9 (SQLite sums with compensation, DuckDB without: the last bits differ). */
function sameRows(ours: unknown[][], theirs: unknown[][]): boolean {
  const [a, b] = [plain(ours), plain(theirs)];
  return (
    a.length === b.length &&
    a.every(
      (row, i) =>
        row.length === b[i]!.length &&
        row.every((cell, j) => {
          const other = b[i]![j];
          if (typeof cell === "number" && typeof other === "number")
            return Math.abs(cell - other) <= 1e-9 * Math.max(Math.abs(cell), Math.abs(other), 1);
          return cell === other;
        }),
    )
  );
}

async function waitForStore(url: string, token: string, id: string, timeoutMs = 600_000) {
  const started = performance.now();
  for (;;) {
    const dataset = (await (await fetch(`${url}/api/v1/datasets/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      query: { status: string; rows: number | null; error: string | null };
    };
    if (dataset.query.status === "ready" || dataset.query.status === "failed" || performance.now() - started > timeoutMs)
      return dataset.query;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function measureStore(options: StoreBenchOptions) {
  const { url, token, projectId, csvPath, fileMB } = options;
  const auth = { authorization: `Bearer ${token}` };
  const csv = readFileSync(csvPath);

  // DuckDB, one thread: SUMMARIZE over the file (its profile), the file into a table (its load), then the same queries.
  const duck = await (await DuckDBInstance.create(":memory:")).connect();
  await duck.run(`SET threads = 1`);
  const file = `'${csvPath.replaceAll("'", "''")}'`;
  let started = performance.now();
  const summarizeCpu = process.cpuUsage();
  await duck.runAndReadAll(`SUMMARIZE SELECT * FROM read_csv(${file})`);
  const summarizeMs = ms(started);
  const summarizeCpuUsed = process.cpuUsage(summarizeCpu);
  started = performance.now();
  const duckCpu = process.cpuUsage();
  await duck.run(`CREATE TABLE dataset AS SELECT * FROM read_csv(${file})`);
  const duckLoadMs = ms(started);
  const duckLoadCpu = process.cpuUsage(duckCpu);

  // Ours: the upload (streamed to R2 and profiled), then its queue job loading the store (both under the profiler with BENCH_PROFILE=load).
  const measured = async () => {
    const heapAtUpload = options.heapSince();
    const cpuAtUpload = workerdCpuSeconds();
    let at = performance.now();
    const uploaded = await fetch(`${url}/api/v1/projects/${projectId}/datasets?name=bench-store`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/csv" },
      body: new Uint8Array(csv),
    });
    const uploadMs = ms(at);
    const body = (await uploaded.json()) as { id: string; rowCount: number };
    if (uploaded.status !== 201) throw new Error(`store bench: upload answered ${uploaded.status}: ${JSON.stringify(body)}`);
    const uploadHeapMB = heapAtUpload();
    const uploadCpuSeconds = workerdCpuSeconds() - cpuAtUpload;
    const heapAtLoad = options.heapSince();
    const cpuAtLoad = workerdCpuSeconds();
    at = performance.now();
    const state = await waitForStore(url, token, body.id);
    return {
      body,
      uploadMs,
      uploadHeapMB,
      uploadCpuSeconds,
      state,
      loadSeconds: (performance.now() - at) / 1000,
      loadHeapMB: heapAtLoad(),
      loadCpuSeconds: workerdCpuSeconds() - cpuAtLoad,
    };
  };
  const { body, uploadMs, uploadHeapMB, uploadCpuSeconds, state, loadSeconds, loadHeapMB, loadCpuSeconds } = options.profile
    ? await options.profile(measured)
    : await measured();
  const load = {
    status: state.status,
    error: state.error,
    rows: state.rows,
    seconds: round(loadSeconds),
    cpuSeconds: round(loadCpuSeconds),
    rowsPerSecond: state.rows ? Math.round(state.rows / loadSeconds) : null,
    mbPerSecond: round(fileMB / loadSeconds, 1),
    heapPeakUsedMB: loadHeapMB,
    duckdbLoadSeconds: round(duckLoadMs / 1000),
    duckdbLoadCpuSeconds: round((duckLoadCpu.user + duckLoadCpu.system) / 1e6),
  };
  const profile = {
    uploadSeconds: round(uploadMs / 1000),
    uploadCpuSeconds: round(uploadCpuSeconds),
    uploadHeapPeakUsedMB: uploadHeapMB,
    duckdbSummarizeSeconds: round(summarizeMs / 1000),
    duckdbSummarizeCpuSeconds: round((summarizeCpuUsed.user + summarizeCpuUsed.system) / 1e6),
    ratioToDuckdb: round(uploadMs / summarizeMs),
  };
  if (state.status !== "ready") return { datasetId: body.id, profile, load, queries: [] };

  // The floor under a cached answer: the same route, caller, rate limit and dataset lookup, refused by the first gate right after
  // (a write is a 422 before any cache or store is asked).
  const floor: number[] = [];
  for (let i = 0; i < (options.cachedRuns ?? 20); i++) {
    const at = performance.now();
    const refused = await fetch(`${url}/api/v1/datasets/${body.id}/query`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ sql: "DELETE FROM dataset" }),
    });
    await refused.arrayBuffer();
    if (refused.status !== 422) throw new Error(`store bench: the refused write answered ${refused.status}`);
    floor.push(ms(at));
  }
  const floorMsP50 = median(floor);

  const queries = [];
  for (const query of QUERIES) {
    const ask = async () => {
      const at = performance.now();
      const response = await fetch(`${url}/api/v1/datasets/${body.id}/query`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ sql: query.sqlite }),
      });
      const answer = (await response.json()) as { rows?: unknown[][]; cached?: boolean; elapsedMs?: number; code?: string };
      if (response.status !== 200) throw new Error(`store bench: ${query.name} answered ${response.status}: ${JSON.stringify(answer)}`);
      return { ms: ms(at), answer };
    };
    const first = await ask();
    if (first.answer.cached) throw new Error(`store bench: ${query.name}'s first run was answered from the cache`);
    const cached = [];
    for (let i = 0; i < (options.cachedRuns ?? 20); i++) {
      const again = await ask();
      if (!again.answer.cached) throw new Error(`store bench: ${query.name} was not answered from the cache`);
      cached.push(again.ms);
    }
    const duckRuns: number[] = [];
    let duckRows: unknown[][] = [];
    for (let i = 0; i < 3; i++) {
      const at = performance.now();
      duckRows = (await duck.runAndReadAll(query.duckdb)).getRows() as unknown[][];
      duckRuns.push(ms(at));
    }
    const duckMs = median(duckRuns);
    queries.push({
      query: query.name,
      firstRunMs: first.ms,
      storeMs: first.answer.elapsedMs,
      cachedMsP50: median(cached),
      cachedMsMax: Math.max(...cached),
      duckdbMs: duckMs,
      ratioToDuckdb: round(first.ms / Math.max(duckMs, 0.1), 1),
      sameRows: sameRows(first.answer.rows!, duckRows),
    });
    if (!sameRows(first.answer.rows!, duckRows))
      console.log(`[bench] ${query.name}: ours ${JSON.stringify(plain(first.answer.rows!))}, DuckDB ${JSON.stringify(plain(duckRows))}`);
  }
  duck.closeSync();
  return { datasetId: body.id, profile, load, floorMsP50, queries };
}
