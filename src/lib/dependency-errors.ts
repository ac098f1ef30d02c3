// Tells a dependency outage (Postgres or Redis out of reach) from a bug: the first is a 503 to retry, the second a 500.

/** Messages of a network failure as workerd and the drivers word them. */
const unreachable =
  /network connection lost|fetch failed|connection refused|error connecting to database|server error \(http status 5\d\d\)|redis unavailable/i;

/**
 * The dependency an error says is down, or null when it is something else. Postgres errors with a
 * SQLSTATE are answers from the database (a bug of ours if they reach here), not outages.
 */
export function unavailableDependency(error: unknown): "postgres" | "redis" | "a dependency" | null {
  for (let current = error, depth = 0; current && depth < 6; current = (current as { cause?: unknown }).cause, depth++) {
    const { name, message, code } = current as { name?: string; message?: string; code?: unknown };
    if (name === "NeonDbError") return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? null : "postgres";
    if (name === "UpstashError" && /redis unavailable/i.test(message ?? "")) return "redis";
    // A bare network failure: the Neon driver wraps its own, so this came from a REST client (Redis, today).
    if ((name === "TypeError" || name === "Error") && unreachable.test(message ?? "")) return "a dependency";
  }
  return null;
}
