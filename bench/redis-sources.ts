// BENCH_ONLY=redis-sources: a Redis data source's latency over each transport (RESP over TCP, Upstash REST through the
// local gateway), through the Worker, beside the same calls made directly from Node with node-redis and @upstash/redis.
// A one-key GET and a SCAN step (SCAN, then the TYPE of each key found, as GET …/keys does), p50/p99 over `runs` calls:
// cold = the first call through a freshly registered source (one per sample), warm = calls on one source after a warm-up.
import { createClient } from "@redis/client";
import { Redis as Upstash } from "@upstash/redis";

interface Options {
  /** The Worker (rate limits off) and a signed-in person's token. */
  url: string;
  token: string;
  /** The machine's Redis as a redis:// URL, and the same Redis behind the Upstash gateway. */
  tcpUrl: string;
  rest: { url: string; token: string };
  runs?: number;
  coldRuns?: number;
}

interface Figures {
  call: string;
  via: string;
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (ms: number) => Math.round(ms * 100) / 100;

async function time(call: string, via: string, runs: number, work: (i: number) => Promise<unknown>): Promise<Figures> {
  const spent: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work(i);
    spent.push(performance.now() - started);
  }
  spent.sort((a, b) => a - b);
  return { call, via, samples: runs, p50Ms: round(percentile(spent, 50)), p99Ms: round(percentile(spent, 99)) };
}

const PREFIX = `bench-src-${Date.now()}`;
const MATCH = `${PREFIX}:*`;

export async function measureRedisSources({ url, token, tcpUrl, rest, runs = 200, coldRuns = 20 }: Options) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const response = await fetch(`${url}${path}`, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${await response.text()}`);
    return response.json() as Promise<Record<string, unknown>>;
  };
  const { slug } = (await api("/api/v1/orgs", { method: "POST", body: { name: `bench sources ${Date.now()}` } })) as { slug: string };
  const register = async (transport: "tcp" | "upstash-rest") => {
    const body =
      transport === "tcp"
        ? { kind: "redis", name: `tcp-${crypto.randomUUID()}`, url: tcpUrl }
        : { kind: "redis", name: `rest-${crypto.randomUUID()}`, url: rest.url, token: rest.token };
    const { id } = (await api(`/api/v1/orgs/${slug}/data-sources`, { method: "POST", body })) as { id: string };
    return `/api/v1/orgs/${slug}/data-sources/${id}`;
  };

  // 1,000 keys under the prefix, so a SCAN step of COUNT 100 finds some.
  const direct = createClient({ url: tcpUrl, RESP: 2 });
  await direct.connect();
  const seed = direct.multi();
  for (let i = 0; i < 1_000; i++) seed.set(`${PREFIX}:${i}`, `value ${i}`);
  await seed.exec();
  const key = `${PREFIX}:42`;

  const getOp = (base: string) => api(`${base}/keys/${encodeURIComponent(key)}/ops`, { method: "POST", body: { op: "get" } });
  const scanStep = (base: string) => api(`${base}/keys?match=${encodeURIComponent(MATCH)}&count=100`);
  // What a step finds (so a step that found nothing cannot pass for a fast one).
  const found: Record<string, number> = {};
  const results: Figures[] = [];
  for (const transport of ["tcp", "upstash-rest"] as const) {
    const via = `Worker, ${transport}`;
    const fresh: string[] = [];
    for (let i = 0; i < coldRuns * 2; i++) fresh.push(await register(transport));
    results.push(await time("GET one key, cold", via, coldRuns, (i) => getOp(fresh[i]!)));
    results.push(await time("SCAN step, cold", via, coldRuns, (i) => scanStep(fresh[coldRuns + i]!)));
    const base = await register(transport);
    for (let i = 0; i < 20; i++) await getOp(base);
    // The floor under both: the same authentication and tenant-checked source lookup, with no Redis call.
    results.push(await time("GET the source (no Redis: the floor)", via, runs, () => api(base)));
    results.push(await time("GET one key, warm", via, runs, () => getOp(base)));
    results.push(await time("SCAN step, warm", via, runs, () => scanStep(base)));
    found[via] = ((await scanStep(base)) as { keys: unknown[] }).keys.length;
  }

  // Directly from Node: node-redis on one open connection (warm), and connecting per call as the Worker does now.
  const nodeScan = async (client: typeof direct) => {
    const [, keys] = (await client.sendCommand(["SCAN", "0", "MATCH", MATCH, "COUNT", "100"])) as [string, string[]];
    return Promise.all(keys.map((key) => client.sendCommand(["TYPE", key])));
  };
  found["Node, node-redis"] = (await nodeScan(direct)).length;
  for (let i = 0; i < 20; i++) await direct.get(key);
  results.push(await time("GET one key, warm", "Node, node-redis, open connection", runs, () => direct.get(key)));
  results.push(await time("SCAN step, warm", "Node, node-redis, open connection", runs, () => nodeScan(direct)));
  const perCall = async (work: (client: typeof direct) => Promise<unknown>) => {
    const client = createClient({ url: tcpUrl, RESP: 2, disableClientInfo: true });
    await client.connect();
    try {
      await work(client);
    } finally {
      client.destroy();
    }
  };
  results.push(await time("GET one key, warm", "Node, node-redis, connect per call", runs, () => perCall((c) => c.get(key))));
  results.push(await time("SCAN step, warm", "Node, node-redis, connect per call", runs, () => perCall(nodeScan)));
  const upstash = new Upstash({ url: rest.url, token: rest.token, automaticDeserialization: false, enableTelemetry: false });
  const upstashScan = async () => {
    const [, keys] = await upstash.scan(0, { match: MATCH, count: 100 });
    const pipeline = upstash.pipeline();
    for (const found of keys) pipeline.type(found);
    if (keys.length > 0) await pipeline.exec();
  };
  for (let i = 0; i < 20; i++) await upstash.get(key);
  results.push(await time("GET one key, warm", "Node, @upstash/redis via the gateway", runs, () => upstash.get(key)));
  results.push(await time("SCAN step, warm", "Node, @upstash/redis via the gateway", runs, upstashScan));

  const cleanup = direct.multi();
  for (let i = 0; i < 1_000; i++) cleanup.del(`${PREFIX}:${i}`);
  await cleanup.exec();
  direct.destroy();
  return { results, keysFoundPerScanStep: found };
}
