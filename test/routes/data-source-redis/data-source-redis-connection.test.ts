// Redis sources over TCP go through their SourceConnection object: warm pooled connections (counted on the server by the
// name they set), the breaker (opened by an outage of the server behind a stoppable proxy, never by a WRONGTYPE), and
// the source's health and metrics (issue 18, item 2). Needs a real Redis (REQUIRE_REAL_SERVICES=1).
import { createClient } from "@redis/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createSource, redisBody, redisTcpBody, redisTcpUrl, type Source } from "../../support/data-sources.ts";
import { eventually } from "../../support/eventually.ts";
import { addMember, call, json, type Person, person, team } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface Metrics {
  calls: number;
  outcomes: Record<string, number>;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  breaker: { state: string; failures: number; retryAfterSeconds: number | null };
  pool: { size: number; inUse: number; waiting: number; maxConcurrent: number };
}

interface Health {
  status: string;
  windowSeconds: number;
  calls: number;
  outages: number;
  breaker: { state: string };
}

/** Stops or restarts the proxy in front of Redis (test/support/tcp-proxy.ts) through the fault control server. */
async function redisProxy(action: "stop" | "start") {
  const response = await fetch(`${inject("faultControlUrl")}/redis-tcp/${action}`, { method: "POST" });
  if (!response.ok) throw new Error(`proxy ${action}: HTTP ${response.status}`);
  await response.body?.cancel();
}

/** The machine's Redis, straight (no Worker): what the server itself says about our connections. */
async function direct() {
  const client = createClient({ url: redisTcpUrl()!, RESP: 2, socket: { reconnectStrategy: false } });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** The ids of the server's client connections named by source `id`'s pool (CLIENT SETNAME in its handshake). */
async function clientsOf(id: string): Promise<string[]> {
  const client = await direct();
  try {
    const list = String(await client.sendCommand(["CLIENT", "LIST"]));
    return list
      .split("\n")
      .filter((line) => line.includes(` name=datacrafted:${id} `))
      .map((line) => /(?:^|\s)id=(\d+)/.exec(line)![1]!);
  } finally {
    client.destroy();
  }
}

describe.runIf(redisTcpUrl() && inject("redisTcpProxyUrl"))("a Redis source over TCP, through its connection object", () => {
  const ns = `conn-${crypto.randomUUID().slice(0, 8)}`;
  let owner: Person;
  let slug: string;
  let source: Source;
  let base: string;
  const at = (id: string) => `/api/v1/orgs/${slug}/data-sources/${id}`;
  const info = (where = base, who = owner) => call(`${where}/info`, { token: who.token });

  beforeAll(async () => {
    owner = await person("rc-owner");
    slug = await team(owner);
    source = await createSource(owner, slug, redisTcpBody());
    base = at(source.id);
  });

  afterAll(async () => {
    await redisProxy("start");
  });

  it("reuses its warm connections: ten calls, one connection on the server, the same one throughout", async () => {
    await json(await info(), 200);
    const first = await clientsOf(source.id);
    expect(first).toHaveLength(1);
    for (let i = 0; i < 9; i++) await json(await info(), 200);
    // Sequential calls find the idle connection every time: the server still sees that one client and no other.
    expect(await clientsOf(source.id)).toEqual(first);
    const metrics = await json<Metrics>(await call(`${base}/metrics`, { token: owner.token }), 200);
    expect(metrics).toMatchObject({ calls: 10, outcomes: { ok: 10 }, breaker: { state: "closed" } });
    expect(metrics.pool).toMatchObject({ size: 3, inUse: 0, waiting: 0, maxConcurrent: 10 });
    expect(metrics.latencyMs.p50).toEqual(expect.any(Number));
  });

  it("opens no more connections than the pool's size under calls at once", async () => {
    const busy = await createSource(owner, slug, redisTcpBody());
    const answers = await Promise.all(Array.from({ length: 8 }, () => info(at(busy.id))));
    for (const answer of answers) await json(answer, 200);
    const clients = await clientsOf(busy.id);
    expect(clients.length).toBeGreaterThanOrEqual(1);
    expect(clients.length).toBeLessThanOrEqual(3);
  });

  it("replaces a warm connection the server closed, without failing the next call", async () => {
    const killed = await createSource(owner, slug, redisTcpBody());
    await json(await info(at(killed.id)), 200);
    const [before] = await clientsOf(killed.id);
    const admin = await direct();
    try {
      expect(await admin.sendCommand(["CLIENT", "KILL", "ID", before!])).toBe(1);
    } finally {
      admin.destroy();
    }
    await json(await info(at(killed.id)), 200);
    const after = await clientsOf(killed.id);
    expect(after).toHaveLength(1);
    expect(after).not.toContain(before);
  });

  it("closes the pool's connections when the source is deleted", async () => {
    const doomed = await createSource(owner, slug, redisTcpBody());
    await json(await info(at(doomed.id)), 200);
    expect(await clientsOf(doomed.id)).toHaveLength(1);
    expect((await call(at(doomed.id), { method: "DELETE", token: owner.token })).status).toBe(204);
    // The server notices the closed sockets a moment later.
    expect(
      await eventually(
        () => clientsOf(doomed.id),
        (clients) => clients.length === 0,
      ),
    ).toEqual([]);
  });

  it("opens the breaker when the server is down, says so in health, and closes once it answers again", async () => {
    const behindProxy = await createSource(owner, slug, redisTcpBody({ url: inject("redisTcpProxyUrl")! }));
    const where = at(behindProxy.id);
    await json(await info(where), 200);
    expect((await json<Health>(await call(`${where}/health`, { token: owner.token }), 200)).status).toBe("up");
    await redisProxy("stop");
    try {
      // Refused at once, or (on a loaded machine) still connecting at the deadline: both outages, five open the breaker.
      for (let i = 0; i < 5; i++) {
        const down = await info(where);
        if (down.status === 504) await expectProblem(down, 504, "DATA_SOURCE_TIMEOUT");
        else await expectProblem(down, 502, "DATA_SOURCE_UNREACHABLE");
      }
      await expectProblem(await info(where), 503, "DATA_SOURCE_CIRCUIT_OPEN");
      const health = await json<Health>(await call(`${where}/health`, { token: owner.token }), 200);
      expect(health).toMatchObject({ status: "down", outages: 5, breaker: { state: "open" } });
      const metrics = await json<Metrics>(await call(`${where}/metrics`, { token: owner.token }), 200);
      expect(metrics.outcomes).toMatchObject({ ok: 1, circuit_open: 1 });
      expect((metrics.outcomes.unreachable ?? 0) + (metrics.outcomes.timeout ?? 0)).toBe(5);
    } finally {
      await redisProxy("start");
    }
    // Changing the source's settings starts its breaker and pool afresh; it connects again through the restarted proxy.
    await json(await call(where, { method: "PATCH", token: owner.token, body: { url: inject("redisTcpProxyUrl")! } }), 200);
    await json(await info(where), 200);
  });

  it("does not open the breaker on WRONGTYPE or refused commands", async () => {
    const member = await person("rc-member");
    await addMember(owner, slug, member, "member");
    const key = `${base}/keys/${encodeURIComponent(`${ns}:text`)}`;
    await json(await call(key, { method: "PUT", token: owner.token, body: { type: "string", value: "plain" } }), 200);
    for (let i = 0; i < 8; i++) {
      if (i % 2) {
        const refused = await call(`${base}/pipeline`, { method: "POST", token: member.token, body: { commands: [["FLUSHALL"]] } });
        await expectProblem(refused, 422, "REDIS_COMMAND_NOT_ALLOWED");
      } else {
        const wrong = await call(`${key}/ops`, { method: "POST", token: member.token, body: { op: "lrange" } });
        expect((await expectProblem(wrong, 422, "REDIS_COMMAND_FAILED")).detail).toMatch(/WRONGTYPE/);
      }
    }
    const metrics = await json<Metrics>(await call(`${base}/metrics`, { token: owner.token }), 200);
    expect(metrics.breaker).toEqual({ state: "closed", failures: 0, retryAfterSeconds: null });
    expect(metrics.outcomes.unreachable).toBe(0);
    await json(await info(base, member), 200);
  });

  it("answers health and metrics to viewers; another tenant gets 404; a REST source 422", async () => {
    const viewer = await person("rc-viewer");
    await addMember(owner, slug, viewer, "viewer");
    const health = await json<Health>(await call(`${base}/health`, { token: viewer.token }), 200);
    expect(health).toMatchObject({ status: "up", windowSeconds: 3600 });
    expect(health.calls).toBeGreaterThan(0);
    const metrics = await json<Metrics>(await call(`${base}/metrics`, { token: viewer.token }), 200);
    expect(metrics.calls).toBeGreaterThan(0);
    const stranger = await person("rc-stranger");
    await team(stranger);
    for (const path of ["health", "metrics"]) {
      await expectProblem(await call(`${base}/${path}`, { token: stranger.token }), 404, "NOT_FOUND");
    }
    const rest = await createSource(owner, slug, redisBody());
    await expectProblem(await call(`${at(rest.id)}/metrics`, { token: owner.token }), 422, "DATA_SOURCE_WRONG_KIND");
  });
});
