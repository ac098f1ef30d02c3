// A source's calls over the last hour, in the object's SQLite: one row a call (when, how long, how it ended), whatever the
// source's kind, so the figures survive the object's eviction and any transport can record into them.

/** How a call ended: `ok`, the caller's own failure, the source's, or refused here before reaching it. */
export const outcomes = [
  "ok",
  "query_failed",
  "query_timeout",
  "timeout",
  "unreachable",
  "auth_failed",
  "circuit_open",
  "busy",
  "error",
] as const;
export type Outcome = (typeof outcomes)[number];

/** Outcomes that say the source itself is unwell (what health and the breaker look at). */
export const outageOutcomes: readonly Outcome[] = ["timeout", "unreachable"];
/** Outcomes of calls that never reached the source: they have no latency. */
const refusedHere: readonly Outcome[] = ["circuit_open", "busy"];

export const WINDOW_MS = 60 * 60 * 1000;
const MAX_ROWS = 50_000;

export function setUpMetrics(storage: DurableObjectState["storage"]) {
  storage.sql.exec("CREATE TABLE IF NOT EXISTS calls (at INTEGER NOT NULL, ms REAL NOT NULL, outcome TEXT NOT NULL)");
  storage.sql.exec("CREATE INDEX IF NOT EXISTS calls_at ON calls (at)");
}

export function recordCall(storage: DurableObjectState["storage"], at: number, ms: number, outcome: Outcome) {
  storage.sql.exec("INSERT INTO calls (at, ms, outcome) VALUES (?, ?, ?)", at, ms, outcome);
  const rowid = storage.sql.exec<{ id: number }>("SELECT last_insert_rowid() AS id").one().id;
  // Pruned every hundredth call, not on each: reads filter by time anyway, and a flood within the hour keeps the newest rows.
  if (rowid % 100 === 0) {
    storage.sql.exec("DELETE FROM calls WHERE at < ? OR rowid <= ?", at - WINDOW_MS, rowid - MAX_ROWS);
  }
}

/** The value at quantile `q` of sorted `values` (nearest rank), or null for none. */
function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! * 10) / 10;
}

export interface CallFigures {
  windowSeconds: number;
  calls: number;
  outcomes: Record<Outcome, number>;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  lastCallAt: string | null;
  lastOutageAt: string | null;
}

export function callFigures(storage: DurableObjectState["storage"], now: number): CallFigures {
  const since = now - WINDOW_MS;
  const counts = Object.fromEntries(outcomes.map((outcome) => [outcome, 0])) as Record<Outcome, number>;
  for (const row of storage.sql.exec<{ outcome: string; n: number }>(
    "SELECT outcome, count(*) AS n FROM calls WHERE at >= ? GROUP BY outcome",
    since,
  )) {
    if (row.outcome in counts) counts[row.outcome as Outcome] = row.n;
  }
  const latencies = storage.sql
    .exec<{ ms: number }>(
      `SELECT ms FROM calls WHERE at >= ? AND outcome NOT IN (${refusedHere.map(() => "?").join(", ")}) ORDER BY ms`,
      since,
      ...refusedHere,
    )
    .toArray()
    .map((row) => row.ms);
  const last = (where: string, ...args: string[]) =>
    storage.sql.exec<{ at: number | null }>(`SELECT max(at) AS at FROM calls WHERE at >= ? ${where}`, since, ...args).one().at;
  const lastCall = last("");
  const lastOutage = last(`AND outcome IN (${outageOutcomes.map(() => "?").join(", ")})`, ...outageOutcomes);
  return {
    windowSeconds: WINDOW_MS / 1000,
    calls: Object.values(counts).reduce((sum, n) => sum + n, 0),
    outcomes: counts,
    latencyMs: { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), p99: quantile(latencies, 0.99) },
    lastCallAt: lastCall === null ? null : new Date(lastCall).toISOString(),
    lastOutageAt: lastOutage === null ? null : new Date(lastOutage).toISOString(),
  };
}
