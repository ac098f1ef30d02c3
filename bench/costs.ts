// BENCH_ONLY=costs: what one request of each kind costs the platform, one request at a time (no concurrency, so the
// counters belong to it): Postgres and Redis round trips (counted by the gateways), workerd CPU (all its threads,
// including the queue consumers and Durable Objects the request set off, less the idle rate) and wall time.
// docs/capacity.md is built on these figures.
import { readdirSync, readFileSync } from "node:fs";
import { workerdCpuSeconds } from "./store.ts";

/** CPU seconds of the Postgres backends serving this run's throwaway database (its name carries this process's pid). */
function postgresCpuSeconds(): number {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(`_${process.pid}_`)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (stat.includes("(postgres)")) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100; // USER_HZ
}

export interface CostOptions {
  url: string;
  token: string;
  neonUrl: string;
  upstashUrl: string;
}

export interface Cost {
  operation: string;
  samples: number;
  postgresRoundTrips: number;
  redisRoundTrips: number;
  /** Commands in those round trips (Upstash bills per command). */
  redisCommands: number;
  cpuMs: number;
  /** CPU of the Postgres backends those round trips used. */
  postgresCpuMs: number;
  wallMsP50: number;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const gatewayStats = async (url: string) =>
  (await (await fetch(`${url}/_gateway/stats`)).json()) as { requests: number; commands?: number };
const gatewayCount = async (url: string) => (await gatewayStats(url)).requests;

export async function measureCosts({ url, token, neonUrl, upstashUrl }: CostOptions): Promise<Cost[]> {
  const auth = { authorization: `Bearer ${token}` };
  const json = { ...auth, "content-type": "application/json" };
  const expect = async (response: Response, status: number) => {
    if (response.status !== status) throw new Error(`costs bench: ${response.url} answered ${response.status}: ${await response.text()}`);
    return response;
  };

  // The idle rate: the runtimes' own timers and heartbeats, subtracted from every measurement.
  const idleStart = workerdCpuSeconds();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const idleCpuPerMs = ((workerdCpuSeconds() - idleStart) * 1000) / 3_000;

  const costs: Cost[] = [];
  /** Runs `work` `samples` times in a row; `extra` subtracts the round trips of bookkeeping calls made inside it. */
  async function measure(
    operation: string,
    samples: number,
    work: (i: number) => Promise<{ pg?: number; redis?: number; commands?: number } | undefined>,
  ): Promise<void> {
    await work(-1); // warm: compiled code, open connections, a first-use cache fill
    const [pg0, redis0, cpu0, pgCpu0] = [
      await gatewayCount(neonUrl),
      await gatewayStats(upstashUrl),
      workerdCpuSeconds(),
      postgresCpuSeconds(),
    ];
    const walls: number[] = [];
    let [pgExtra, redisExtra, commandsExtra] = [0, 0, 0];
    const started = performance.now();
    for (let i = 0; i < samples; i++) {
      const at = performance.now();
      const extra = await work(i);
      walls.push(performance.now() - at);
      pgExtra += extra?.pg ?? 0;
      redisExtra += extra?.redis ?? 0;
      commandsExtra += extra?.commands ?? 0;
    }
    const wallMs = performance.now() - started;
    const cpuMs = (workerdCpuSeconds() - cpu0) * 1000 - idleCpuPerMs * wallMs;
    const postgresCpuMs = (postgresCpuSeconds() - pgCpu0) * 1000;
    const [pg1, redis1] = [await gatewayCount(neonUrl), await gatewayStats(upstashUrl)];
    costs.push({
      operation,
      samples,
      postgresRoundTrips: round((pg1 - pg0 - pgExtra) / samples),
      redisRoundTrips: round((redis1.requests - redis0.requests - redisExtra) / samples),
      redisCommands: round(((redis1.commands ?? 0) - (redis0.commands ?? 0) - commandsExtra) / samples),
      cpuMs: round(Math.max(0, cpuMs) / samples, 1),
      postgresCpuMs: round(postgresCpuMs / samples, 2),
      wallMsP50: round(median(walls), 1),
    });
    console.log(`[bench] costs: ${operation}`, costs.at(-1));
  }

  const get = (path: string) => fetch(`${url}${path}`, { headers: auth });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: "POST", headers: { ...json, ...headers }, body: JSON.stringify(body) });

  await measure("GET /api/v1/me", 50, async () => void (await expect(await get("/api/v1/me"), 200)).arrayBuffer());
  await measure("GET /api/v1/projects", 50, async () => void (await expect(await get("/api/v1/projects"), 200)).arrayBuffer());
  const project = (await (await expect(await post("/api/v1/projects", { name: "costs" }), 201)).json()) as { id: string };
  await measure("POST /api/v1/projects (audited write)", 30, async (i) => {
    await (await expect(await post("/api/v1/projects", { name: `costs ${i}` }), 201)).arrayBuffer();
    return undefined;
  });

  // An upload of about 1 MB, and its load into the dataset store by the queue consumer (polled: the polls' own round
  // trips, measured as GET /datasets/{id} below, are subtracted).
  const csv = (salt: number) => {
    const lines = ["id,day,region,qty,price"];
    for (let i = 0; i < 25_000; i++)
      lines.push(
        `${i},2026-${String((i % 12) + 1).padStart(2, "0")}-01,${["North", "South", "East"][i % 3]},${(i * salt) % 50},${i % 997}.5`,
      );
    return `${lines.join("\n")}\n`;
  };
  let datasetId = "";
  const pollCost = { pg: 0, redis: 0, commands: 0 };
  const waitReady = async (id: string) => {
    let polls = 0;
    for (;;) {
      polls++;
      const dataset = (await (await get(`/api/v1/datasets/${id}`)).json()) as { query: { status: string } };
      if (dataset.query.status === "ready") return polls;
      if (dataset.query.status === "failed") throw new Error("costs bench: the store load failed");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  // Measured first without the poll correction, to learn what one poll costs.
  const warmUpload = (await (
    await expect(
      await fetch(`${url}/api/v1/projects/${project.id}/datasets?name=warm`, {
        method: "POST",
        headers: { ...auth, "content-type": "text/csv" },
        body: csv(1),
      }),
      201,
    )
  ).json()) as { id: string };
  await waitReady(warmUpload.id);
  datasetId = warmUpload.id;
  await measure(
    "GET /api/v1/datasets/{id}",
    50,
    async () => void (await expect(await get(`/api/v1/datasets/${datasetId}`), 200)).arrayBuffer(),
  );
  const getCost = costs.at(-1)!;
  pollCost.pg = getCost.postgresRoundTrips;
  pollCost.redis = getCost.redisRoundTrips;
  pollCost.commands = getCost.redisCommands;
  await measure("POST dataset upload (1 MB CSV) + store load", 5, async (i) => {
    const response = await expect(
      await fetch(`${url}/api/v1/projects/${project.id}/datasets?name=costs-${i}`, {
        method: "POST",
        headers: { ...auth, "content-type": "text/csv" },
        body: csv(i + 7),
      }),
      201,
    );
    const { id } = (await response.json()) as { id: string };
    const polls = await waitReady(id);
    return { pg: polls * pollCost.pg, redis: polls * pollCost.redis, commands: polls * pollCost.commands };
  });

  await measure(
    "GET /api/v1/datasets/{id}/rows",
    30,
    async () => void (await expect(await get(`/api/v1/datasets/${datasetId}/rows?limit=100`), 200)).arrayBuffer(),
  );
  await measure("POST /api/v1/datasets/{id}/query (new query)", 20, async (i) => {
    const sql = `SELECT region, count(*) AS n, avg(price) AS p FROM dataset WHERE qty >= ${i + 100} GROUP BY region`;
    await (await expect(await post(`/api/v1/datasets/${datasetId}/query`, { sql }), 200)).arrayBuffer();
    return undefined;
  });
  await measure("POST /api/v1/datasets/{id}/query (cached)", 30, async () => {
    const sql = "SELECT region, count(*) AS n FROM dataset GROUP BY region";
    await (await expect(await post(`/api/v1/datasets/${datasetId}/query`, { sql }), 200)).arrayBuffer();
    return undefined;
  });

  const session = (await (await expect(await post("/api/v1/sessions", { datasetId }), 201)).json()) as { id: string };
  // An SSE subscriber: connect, read the first bytes (the replayed log or a heartbeat), hang up.
  await measure("GET /api/v1/sessions/{id}/events (connect)", 20, async () => {
    const controller = new AbortController();
    const response = await expect(
      await fetch(`${url}/api/v1/sessions/${session.id}/events`, {
        headers: { ...auth, accept: "text/event-stream" },
        signal: controller.signal,
      }),
      200,
    );
    await response.body!.getReader().read();
    controller.abort();
    return undefined;
  });
  const streamed = (engine: string) => async () => {
    const response = await expect(await post(`/api/v1/sessions/${session.id}/analyses`, { engine }, { accept: "text/event-stream" }), 200);
    const text = await response.text();
    if (!text.includes("event: done")) throw new Error(`costs bench: the ${engine} analysis did not finish: ${text.slice(-500)}`);
    return undefined;
  };
  await measure("POST analysis (statistical engine, streamed)", 5, streamed("statistical"));
  await measure("POST analysis (model: the OpenAI stub, streamed)", 5, streamed("openai"));
  await measure("POST chat turn (model: the OpenAI stub, JSON)", 5, async (i) => {
    await (
      await expect(
        await post(`/api/v1/sessions/${session.id}/chat`, { message: `What is the average price by region? (${i})`, engine: "openai" }),
        201,
      )
    ).arrayBuffer();
    return undefined;
  });
  return costs;
}
