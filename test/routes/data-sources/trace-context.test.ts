// A Postgres data-source call carries the request's W3C trace context: the Neon gateway in front of the source records the
// traceparent it received, which must continue the client's trace (same trace id) from this request's own span.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createSource, postgresBody } from "../../support/data-sources.ts";
import { call, json, person, team } from "../../support/harness.ts";

const hex = (bytes: number) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("trace context on data-source calls", () => {
  it("forwards the client's trace to a Postgres source, from this request's span", async () => {
    const owner = await person("trace");
    const slug = await team(owner);
    const source = await createSource(owner, slug, postgresBody());
    const traceId = hex(16);
    const clientSpan = hex(8);
    const headers = { traceparent: `00-${traceId}-${clientSpan}-01` };
    await json(await call(`/api/v1/orgs/${slug}/data-sources/${source.id}/test`, { method: "POST", token: owner.token, headers }), 200);
    const query = { sql: "SELECT 1 AS one" };
    await json(
      await call(`/api/v1/orgs/${slug}/data-sources/${source.id}/query`, { method: "POST", token: owner.token, headers, body: query }),
      200,
    );

    const stats = (await (await fetch(`${new URL(env.NEON_FETCH_ENDPOINT as string).origin}/_gateway/stats`)).json()) as {
      traceparents: string[];
    };
    const forwarded = stats.traceparents.filter((header) => header.includes(traceId));
    // At least one call each for the test and the query (both requests continue the same trace).
    expect(forwarded.length).toBeGreaterThanOrEqual(2);
    for (const header of forwarded) {
      const [version, trace, span, flags] = header.split("-");
      expect({ version, trace, flags }).toEqual({ version: "00", trace: traceId, flags: "01" });
      // Our own span, not the client's: the source's work is a child of this request.
      expect(span).toMatch(/^[0-9a-f]{16}$/);
      expect(span).not.toBe(clientSpan);
    }
  });
});
