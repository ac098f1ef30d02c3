// Postgres data sources in the bench (BENCH_ONLY=sources): a one-row query through the API on each transport, cold (the
// first call to a newly registered source, so its SourceConnection object and pool start then) and warm (200 calls in a
// row on one source), beside the same query from Node with postgres.js directly and the API's own floor (a query the
// grammar check refuses, so everything but the call to the source).
import postgres from "postgres";

export interface SourcesBenchOptions {
  /** The Worker (rate limits off). */
  url: string;
  token: string;
  slug: string;
  /** The machine's Postgres, as the tcp source and Node reach it. */
  connectionString: string;
  /** The Neon gateway in front of the same server, as the neon-http source reaches it. */
  neon: { connectionString: string; endpoint: string };
  calls?: number;
  coldSources?: number;
}

interface Figures {
  case: string;
  calls: number;
  p50Ms: number;
  p99Ms: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
const round = (ms: number) => Math.round(ms * 100) / 100;

function figures(name: string, samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { case: name, calls: samples.length, p50Ms: round(quantile(sorted, 0.5)), p99Ms: round(quantile(sorted, 0.99)) };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export async function measureSources({ url, token, slug, connectionString, neon, calls = 200, coldSources = 20 }: SourcesBenchOptions) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const register = async (transport: "tcp" | "neon-http") => {
    const body = {
      kind: "postgres",
      name: `bench-${transport}-${crypto.randomUUID().slice(0, 8)}`,
      transport,
      ...(transport === "neon-http" ? neon : { connectionString }),
    };
    const response = await fetch(`${url}/api/v1/orgs/${slug}/data-sources`, { method: "POST", headers, body: JSON.stringify(body) });
    if (response.status !== 201) throw new Error(`registering a ${transport} source: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  };
  const query =
    (id: string, sql: string, status = 200) =>
    async () => {
      const response = await fetch(`${url}/api/v1/orgs/${slug}/data-sources/${id}/query`, {
        method: "POST",
        headers,
        body: JSON.stringify({ sql }),
      });
      await response.arrayBuffer();
      if (response.status !== status) throw new Error(`query on ${id}: HTTP ${response.status}, wanted ${status}`);
    };
  const oneRow = "SELECT 1 AS one";
  const results: Figures[] = [];

  for (const transport of ["tcp", "neon-http"] as const) {
    const cold: number[] = [];
    for (let i = 0; i < coldSources; i++) cold.push(await timed(query(await register(transport), oneRow)));
    results.push(figures(`${transport}: cold (first call to a new source)`, cold));
    const id = await register(transport);
    await query(id, oneRow)();
    const warm: number[] = [];
    for (let i = 0; i < calls; i++) warm.push(await timed(query(id, oneRow)));
    results.push(figures(`${transport}: warm`, warm));
    if (transport === "tcp") {
      const floor: number[] = [];
      for (let i = 0; i < calls; i++) floor.push(await timed(query(id, "SELECT pg_sleep(1); SELECT 2", 422)));
      results.push(figures("API floor: a query refused before sending", floor));
    }
  }

  // The same query from Node: connect + query on a fresh client, then warm on one connection.
  const cold: number[] = [];
  for (let i = 0; i < coldSources; i++) {
    const sql = postgres(connectionString, { max: 1, prepare: false, onnotice: () => {} });
    cold.push(await timed(() => sql.unsafe(oneRow)));
    await sql.end({ timeout: 1 });
  }
  results.push(figures("postgres.js from Node: cold (connect + query)", cold));
  const sql = postgres(connectionString, { max: 1, prepare: false, onnotice: () => {} });
  await sql.unsafe(oneRow);
  const warm: number[] = [];
  for (let i = 0; i < calls; i++) warm.push(await timed(() => sql.unsafe(oneRow)));
  // And as the TCP transport runs it: BEGIN READ ONLY, two SET LOCALs, the statement, ROLLBACK.
  const transaction: number[] = [];
  for (let i = 0; i < calls; i++) {
    transaction.push(
      await timed(() =>
        sql.begin("READ ONLY", async (tx) => {
          await tx.unsafe("SET LOCAL standard_conforming_strings = on", [], { simple: false } as postgres.UnsafeQueryOptions);
          await tx.unsafe("SET LOCAL statement_timeout = 4500", [], { simple: false } as postgres.UnsafeQueryOptions);
          await tx.unsafe(oneRow, [], { simple: false } as postgres.UnsafeQueryOptions);
        }),
      ),
    );
  }
  await sql.end({ timeout: 1 });
  results.push(figures("postgres.js from Node: warm", warm));
  results.push(figures("postgres.js from Node: warm, as the transport runs it (read-only transaction)", transaction));
  return results;
}
