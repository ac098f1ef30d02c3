// Webhooks through the Worker: endpoints (admins only, tenant-bound), deliveries signed per Standard Webhooks and checked
// with the `standardwebhooks` package, retries with backoff, the dead letter after the window, redelivery, 410, events.
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { describe, expect, inject, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { analyses, datasets, webhookDeliveries, webhookEndpoints } from "../../../src/db/schema.ts";
import worker from "../../../src/index.ts";
import type { ReceivedHook } from "../../support/webhook-receiver.ts";
import { eventually } from "../../support/eventually.ts";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { analyse, dataOf, readSse, scenario, sessionOn } from "../../support/analysis.ts";
import { deliver, settled } from "../../support/dataset-loads.ts";

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabledReason: string | null;
  previousSecretExpiresAt: string | null;
  secret?: string;
}
interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  redeliveryOf: string | null;
}

const receiver = () => inject("webhookReceiver");
/** A receiver path of this test's own: nothing else delivers there. */
const hookName = () => `h${crypto.randomUUID().slice(0, 12)}`;

async function script(name: string, statuses: number[], delayMs = 0) {
  await fetch(`${receiver()}/_control/${name}`, { method: "PUT", body: JSON.stringify({ statuses, delayMs }) });
}

/** What the receiver got at `name`, waiting (a bounded long poll) for at least `min` deliveries. */
async function received(name: string, min: number): Promise<ReceivedHook[]> {
  const hooks = await eventually(
    async () => ((await (await fetch(`${receiver()}/_control/${name}?min=${min}&wait=20000`)).json()) as { data: ReceivedHook[] }).data,
    (data) => data.length >= min,
  );
  expect(hooks.length, `deliveries at ${name}`).toBeGreaterThanOrEqual(min);
  return hooks;
}

async function createEndpoint(owner: Person, slug: string, name: string, events: string[]): Promise<Endpoint & { secret: string }> {
  return json<Endpoint & { secret: string }>(
    await call(`/api/v1/orgs/${slug}/webhooks`, {
      method: "POST",
      token: owner.token,
      body: { url: `${receiver()}/hooks/${name}`, events },
    }),
    201,
  );
}

const deliveries = async (owner: Person, slug: string, id: string) =>
  (await json<{ data: Delivery[] }>(await call(`/api/v1/orgs/${slug}/webhooks/${id}/deliveries`, { token: owner.token }), 200)).data;

/** Polls the delivery log until `done` holds for the newest delivery. */
async function settledDelivery(owner: Person, slug: string, id: string, done: (delivery: Delivery) => boolean): Promise<Delivery> {
  const list = await eventually(
    () => deliveries(owner, slug, id),
    (data) => data[0] !== undefined && done(data[0]),
  );
  expect(list[0], "the newest delivery").toBeDefined();
  return list[0]!;
}

const createKey = async (owner: Person, slug: string, name = "CI") =>
  json<{ id: string }>(await call(`/api/v1/orgs/${slug}/api-keys`, { method: "POST", token: owner.token, body: { name } }), 201);

/** Verifies a delivery with the stock Standard Webhooks library: throws unless one of its signatures is `secret`'s. */
const verify = (secret: string, hook: ReceivedHook) => new Webhook(secret).verify(hook.body, hook.headers) as Record<string, unknown>;

describe("webhook endpoints", () => {
  it("are created with a secret shown once, listed, read with an ETag, changed and deleted", async () => {
    const owner = await person("wh-crud");
    const slug = await team(owner);
    const response = await call(`/api/v1/orgs/${slug}/webhooks`, {
      method: "POST",
      token: owner.token,
      body: { url: `${receiver()}/hooks/crud`, events: ["api_key.created", "dataset.ready", "api_key.created"], description: "CI" },
    });
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const created = await json<Endpoint & { secret: string }>(response, 201);
    expect(response.headers.get("Location")).toBe(`/api/v1/orgs/${slug}/webhooks/${created.id}`);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.events).toEqual(["api_key.created", "dataset.ready"]);

    const listed = await json<{ data: Endpoint[] }>(await call(`/api/v1/orgs/${slug}/webhooks`, { token: owner.token }), 200);
    expect(listed.data.map((endpoint) => endpoint.id)).toEqual([created.id]);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    const got = await call(`/api/v1/orgs/${slug}/webhooks/${created.id}`, { token: owner.token });
    const etag = got.headers.get("ETag")!;
    expect((await json<Endpoint>(got, 200)).secret).toBeUndefined();
    // The secret is sealed at rest, not stored as given.
    const [row] = await createDb(env).select().from(webhookEndpoints).where(eq(webhookEndpoints.id, created.id));
    expect(row!.secret).not.toContain(created.secret.slice(6));

    const patched = await json<Endpoint>(
      await call(`/api/v1/orgs/${slug}/webhooks/${created.id}`, {
        method: "PATCH",
        token: owner.token,
        headers: { "If-Match": etag },
        body: { events: ["member.joined"], enabled: false },
      }),
      200,
    );
    expect(patched).toMatchObject({ events: ["member.joined"], enabled: false });
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/webhooks/${created.id}`, { method: "DELETE", token: owner.token, headers: { "If-Match": etag } }),
      412,
      "PRECONDITION_FAILED",
    );
    expect((await call(`/api/v1/orgs/${slug}/webhooks/${created.id}`, { method: "DELETE", token: owner.token })).status).toBe(204);
    await expectProblem(await call(`/api/v1/orgs/${slug}/webhooks/${created.id}`, { token: owner.token }), 404, "NOT_FOUND");
  });

  it("refuses URLs that are malformed, carry credentials, or use another scheme", async () => {
    const owner = await person("wh-url");
    const slug = await team(owner);
    for (const url of [
      "not a url",
      "ftp://hooks.example.com/x",
      "https://user:pw@hooks.example.com/x",
      "https://hooks.example.com/#frag",
    ]) {
      await expectProblem(
        await call(`/api/v1/orgs/${slug}/webhooks`, { method: "POST", token: owner.token, body: { url, events: ["dataset.ready"] } }),
        400,
        "VALIDATION_FAILED",
      );
    }
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/webhooks`, {
        method: "POST",
        token: owner.token,
        body: { url: "https://x.example.com", events: ["nope"] },
      }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("are for admins and owners: a member is refused (403), another tenant sees nothing (404)", async () => {
    const [owner, member, stranger] = [await person("wh-o"), await person("wh-m"), await person("wh-s")];
    const slug = await team(owner);
    await addMember(owner, slug, member, "member");
    const endpoint = await createEndpoint(owner, slug, hookName(), ["dataset.ready"]);
    const base = `/api/v1/orgs/${slug}/webhooks`;
    const attempts = [
      { path: base },
      { path: base, method: "POST", body: { url: `${receiver()}/hooks/x`, events: ["dataset.ready"] } },
      { path: `${base}/${endpoint.id}` },
      { path: `${base}/${endpoint.id}`, method: "PATCH", body: { enabled: false } },
      { path: `${base}/${endpoint.id}`, method: "DELETE" },
      { path: `${base}/${endpoint.id}/rotate-secret`, method: "POST" },
      { path: `${base}/${endpoint.id}/deliveries` },
      { path: `${base}/${endpoint.id}/deliveries/${crypto.randomUUID()}/redeliver`, method: "POST" },
    ];
    for (const { path, method, body } of attempts) {
      await expectProblem(await call(path, { method, body, token: member.token }), 403, "FORBIDDEN");
      await expectProblem(await call(path, { method, body, token: stranger.token }), 404, "NOT_FOUND");
    }
    // Nor through the stranger's own organization's path.
    await expectProblem(
      await call(`/api/v1/orgs/${stranger.personalOrg}/webhooks/${endpoint.id}`, { token: stranger.token }),
      404,
      "NOT_FOUND",
    );
    expect((await json<Endpoint>(await call(`${base}/${endpoint.id}`, { token: owner.token }), 200)).enabled).toBe(true);
  });
});

describe("deliveries", () => {
  it("are signed as Standard Webhooks says, verified by the standardwebhooks package, and logged", async () => {
    const owner = await person("wh-sign");
    const slug = await team(owner);
    const name = hookName();
    const endpoint = await createEndpoint(owner, slug, name, ["api_key.created"]);
    const key = await createKey(owner, slug);
    const [hook] = await received(name, 1);
    expect(hook!.headers["webhook-id"]).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(Math.abs(Number(hook!.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(120);
    expect(hook!.headers["content-type"]).toBe("application/json");
    const payload = verify(endpoint.secret, hook!);
    expect(payload).toMatchObject({ type: "api_key.created", timestamp: expect.any(String), data: { apiKeyId: key.id, name: "CI" } });
    // Another secret does not verify it.
    const other = await createEndpoint(owner, slug, hookName(), ["dataset.ready"]);
    expect(() => verify(other.secret, hook!)).toThrow();

    const delivery = await settledDelivery(owner, slug, endpoint.id, (d) => d.status === "succeeded");
    expect(delivery).toMatchObject({
      eventType: "api_key.created",
      attempts: 1,
      lastStatusCode: 200,
      eventId: hook!.headers["webhook-id"],
    });
    expect(delivery.lastLatencyMs).toEqual(expect.any(Number));
  });

  it("sign with the new secret and, during the grace period, the old one too; after it, the new one only", async () => {
    const owner = await person("wh-rot");
    const slug = await team(owner);
    const name = hookName();
    const endpoint = await createEndpoint(owner, slug, name, ["api_key.created"]);
    const rotated = await json<Endpoint & { secret: string }>(
      await call(`/api/v1/orgs/${slug}/webhooks/${endpoint.id}/rotate-secret`, { method: "POST", token: owner.token }),
      200,
    );
    expect(rotated.secret).not.toBe(endpoint.secret);
    expect(new Date(rotated.previousSecretExpiresAt!).getTime()).toBeGreaterThan(Date.now());
    await createKey(owner, slug, "during");
    const [during] = await received(name, 1);
    expect(during!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(verify(rotated.secret, during!)).toMatchObject({ type: "api_key.created" });
    expect(verify(endpoint.secret, during!)).toMatchObject({ type: "api_key.created" });

    // The grace period over: only the new secret signs.
    await createDb(env)
      .update(webhookEndpoints)
      .set({ previousSecretExpiresAt: sql`now() - interval '1 second'` })
      .where(eq(webhookEndpoints.id, endpoint.id));
    await createKey(owner, slug, "after");
    const after = (await received(name, 2))[1]!;
    expect(verify(rotated.secret, after)).toMatchObject({ data: expect.objectContaining({ name: "after" }) });
    expect(() => verify(endpoint.secret, after)).toThrow();
  });

  it("are retried after a 500 with the same webhook-id, until a 2xx", async () => {
    const owner = await person("wh-retry");
    const slug = await team(owner);
    const name = hookName();
    await script(name, [500]);
    const endpoint = await createEndpoint(owner, slug, name, ["api_key.created"]);
    await createKey(owner, slug);
    const hooks = await received(name, 2);
    expect(hooks.map((hook) => hook.answered)).toEqual([500, 200]);
    expect(hooks[1]!.headers["webhook-id"]).toBe(hooks[0]!.headers["webhook-id"]);
    expect(verify(endpoint.secret, hooks[1]!)).toMatchObject({ type: "api_key.created" });
    const delivery = await settledDelivery(owner, slug, endpoint.id, (d) => d.status === "succeeded");
    expect(delivery).toMatchObject({ attempts: 2, lastStatusCode: 200, lastError: null });
  });

  it("end dead after the retry window, and can be redelivered", async () => {
    const owner = await person("wh-dead");
    const slug = await team(owner);
    const name = hookName();
    await script(name, Array(30).fill(503));
    const endpoint = await createEndpoint(owner, slug, name, ["api_key.created"]);
    await createKey(owner, slug);
    // WEBHOOK_RETRY_WINDOW_SECONDS=6 with a 1 s base in the tests: 1 s, 2 s, 3 s (the window's end), then dead.
    const dead = await settledDelivery(owner, slug, endpoint.id, (d) => d.status === "dead");
    expect(dead).toMatchObject({ lastStatusCode: 503, lastError: "the receiver answered 503" });
    expect(dead.attempts).toBeGreaterThanOrEqual(3);
    const tried = (await received(name, dead.attempts)).length;
    expect(tried).toBe(dead.attempts);
    const listed = await json<{ data: Delivery[] }>(
      await call(`/api/v1/orgs/${slug}/webhooks/${endpoint.id}/deliveries?status=dead`, { token: owner.token }),
      200,
    );
    expect(listed.data.map((d) => d.id)).toEqual([dead.id]);

    await script(name, []);
    const again = await json<Delivery>(
      await call(`/api/v1/orgs/${slug}/webhooks/${endpoint.id}/deliveries/${dead.id}/redeliver`, { method: "POST", token: owner.token }),
      202,
    );
    expect(again).toMatchObject({ status: "pending", attempts: 0, redeliveryOf: dead.id, eventId: dead.eventId });
    const hook = (await received(name, tried + 1))[tried]!;
    expect(hook.answered).toBe(200);
    expect(hook.headers["webhook-id"]).toBe(dead.eventId);
    expect(verify(endpoint.secret, hook)).toMatchObject({ type: "api_key.created" });
    const redelivered = await settledDelivery(owner, slug, endpoint.id, (d) => d.id === again.id && d.status === "succeeded");
    expect(redelivered).toMatchObject({ attempts: 1, lastStatusCode: 200 });
    // Redelivering something that is not this endpoint's is a 404.
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/webhooks/${endpoint.id}/deliveries/${crypto.randomUUID()}/redeliver`, {
        method: "POST",
        token: owner.token,
      }),
      404,
      "NOT_FOUND",
    );
  });

  it("time out a receiver that does not answer within WEBHOOK_TIMEOUT_MS, and retry it", async () => {
    const owner = await person("wh-slow");
    const slug = await team(owner);
    const name = hookName();
    // The first answer comes after 4.5 s, past the tests' WEBHOOK_TIMEOUT_MS of 3 s; the retry is answered at once.
    await script(name, [200], 4_500);
    const endpoint = await createEndpoint(owner, slug, name, ["api_key.created"]);
    await createKey(owner, slug);
    const timedOut = await settledDelivery(owner, slug, endpoint.id, (d) => d.attempts >= 1 && d.lastError !== null);
    expect(timedOut).toMatchObject({ status: "pending", lastStatusCode: null, lastError: "no answer within 3000 ms" });
    const delivery = await settledDelivery(owner, slug, endpoint.id, (d) => d.status === "succeeded");
    expect(delivery).toMatchObject({ attempts: 2, lastStatusCode: 200 });
  });

  it("check the URL again at delivery: one the policy now refuses ends dead without a request", async () => {
    const owner = await person("wh-recheck");
    const slug = await team(owner);
    const name = hookName();
    const endpoint = await createEndpoint(owner, slug, name, ["api_key.created"]);
    // As if stored before the policy changed: a URL creation would refuse now.
    await createDb(env)
      .update(webhookEndpoints)
      .set({ url: `ftp://127.0.0.1/hooks/${name}` })
      .where(eq(webhookEndpoints.id, endpoint.id));
    await createKey(owner, slug);
    const delivery = await settledDelivery(owner, slug, endpoint.id, (d) => d.status === "dead");
    expect(delivery).toMatchObject({ attempts: 1, lastStatusCode: null, lastError: "the endpoint URL must be an http(s) URL" });
  });

  it("the dead-letter consumer ends a delivery whose messages failed on every retry", async () => {
    const owner = await person("wh-dlq");
    const slug = await team(owner);
    const name = hookName();
    await script(name, Array(30).fill(500));
    const endpoint = await createEndpoint(owner, slug, name, ["api_key.created"]);
    await createKey(owner, slug);
    const pending = await settledDelivery(owner, slug, endpoint.id, (d) => d.attempts >= 1);
    const batch = createMessageBatch("datacrafted-webhooks-dlq", [
      {
        id: `dlq-${crypto.randomUUID()}`,
        timestamp: new Date(),
        attempts: 6,
        body: { kind: "delivery", deliveryId: pending.id, attempt: 2 },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toHaveLength(1);
    const [row] = await createDb(env).select().from(webhookDeliveries).where(eq(webhookDeliveries.id, pending.id));
    // It was pending between retries (the 6 s window far from over): now it is dead, saying why, and retries stop.
    expect(row).toMatchObject({ status: "dead", lastError: "the delivery could not be processed" });
  });

  it("stop when the receiver answers 410 Gone: the endpoint is disabled until enabled again", async () => {
    const owner = await person("wh-gone");
    const slug = await team(owner);
    const name = hookName();
    await script(name, [410]);
    const endpoint = await createEndpoint(owner, slug, name, ["api_key.created"]);
    await createKey(owner, slug);
    const delivery = await settledDelivery(owner, slug, endpoint.id, (d) => d.status === "dead");
    expect(delivery).toMatchObject({ attempts: 1, lastStatusCode: 410 });
    const disabled = await json<Endpoint>(await call(`/api/v1/orgs/${slug}/webhooks/${endpoint.id}`, { token: owner.token }), 200);
    expect(disabled).toMatchObject({ enabled: false, disabledReason: expect.stringContaining("410") });
    await expectProblem(
      await call(`/api/v1/orgs/${slug}/webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`, {
        method: "POST",
        token: owner.token,
      }),
      409,
      "CONFLICT",
    );
    const enabled = await json<Endpoint>(
      await call(`/api/v1/orgs/${slug}/webhooks/${endpoint.id}`, { method: "PATCH", token: owner.token, body: { enabled: true } }),
      200,
    );
    expect(enabled).toMatchObject({ enabled: true, disabledReason: null });
  });
});

describe("events", () => {
  it("member.joined, member.removed, api_key.created and api_key.revoked come from where they happen", async () => {
    const [owner, member] = [await person("wh-ev-o"), await person("wh-ev-m")];
    const slug = await team(owner);
    const name = hookName();
    const endpoint = await createEndpoint(owner, slug, name, ["member.joined", "member.removed", "api_key.revoked"]);
    await addMember(owner, slug, member, "member");
    const key = await createKey(owner, slug);
    expect((await call(`/api/v1/orgs/${slug}/api-keys/${key.id}`, { method: "DELETE", token: owner.token })).status).toBe(204);
    expect((await call(`/api/v1/orgs/${slug}/members/${member.userId}`, { method: "DELETE", token: owner.token })).status).toBe(204);
    const hooks = await received(name, 3);
    const events = hooks.map((hook) => verify(endpoint.secret, hook) as { type: string; data: Record<string, unknown> });
    // Only what it subscribed to (api_key.created is not), each once.
    expect(events.map((event) => event.type).sort()).toEqual(["api_key.revoked", "member.joined", "member.removed"]);
    expect(events.find((event) => event.type === "member.joined")!.data).toMatchObject({
      userId: member.userId,
      role: "member",
      org: slug,
    });
    expect(events.find((event) => event.type === "member.removed")!.data).toMatchObject({ userId: member.userId, removedBy: owner.userId });
    expect(events.find((event) => event.type === "api_key.revoked")!.data).toMatchObject({ apiKeyId: key.id });
  });

  it("dataset.ready and analysis.succeeded come from the load and the analysis", async () => {
    const owner = await person("wh-ds");
    const name = hookName();
    const endpoint = await createEndpoint(owner, owner.personalOrg, name, ["dataset.ready", "analysis.succeeded"]);
    const { datasetId, sessionId } = await sessionOn(owner, `wh-${name}`);
    const { events } = await readSse(await analyse(owner, sessionId, { engine: "statistical" }));
    expect(events.at(-1)!.event).toBe("done");
    const hooks = await received(name, 2);
    const payloads = hooks.map((hook) => verify(endpoint.secret, hook) as { type: string; data: Record<string, unknown> });
    expect(payloads.find((p) => p.type === "dataset.ready")!.data).toMatchObject({ datasetId, rows: 60 });
    expect(payloads.find((p) => p.type === "analysis.succeeded")!.data).toMatchObject({ sessionId, engine: "statistical" });
  });

  it("analysis.failed comes from a failed streamed analysis, dataset.failed from the load's dead-letter consumer", async () => {
    const owner = await person("wh-fail");
    const name = hookName();
    const endpoint = await createEndpoint(owner, owner.personalOrg, name, ["analysis.failed", "dataset.failed"]);
    const marker = `wh-fail-${name}`;
    await scenario(marker, [{ content: '{"summary": 42' }]);
    const { datasetId, sessionId } = await sessionOn(owner, marker);
    const { events } = await readSse(await analyse(owner, sessionId, { engine: "openai" }));
    expect(events.at(-1)!.event).toBe("problem");
    const [failedAnalysis] = await received(name, 1);
    expect(verify(endpoint.secret, failedAnalysis!)).toMatchObject({
      type: "analysis.failed",
      data: { sessionId, error: { code: "MODEL_OUTPUT_INVALID" } },
    });

    // A load out of retries: the dead-letter consumer fails it for good, and says so.
    await settled(owner, datasetId);
    await createDb(env)
      .update(datasets)
      .set({ queryStatus: "pending", queryError: "storage unavailable" })
      .where(eq(datasets.id, datasetId));
    await deliver("datacrafted-dataset-loads-dlq", [{ datasetId }]);
    const failedLoad = (await received(name, 2))[1]!;
    expect(verify(endpoint.secret, failedLoad)).toMatchObject({
      type: "dataset.failed",
      data: { datasetId, error: "storage unavailable" },
    });
  });

  it("analysis.failed comes from the cron's recovery too, for a job out of attempts", async () => {
    const owner = await person("wh-cron");
    const name = hookName();
    const endpoint = await createEndpoint(owner, owner.personalOrg, name, ["analysis.failed"]);
    const { sessionId } = await sessionOn(owner, `wh-cron-${name}`);
    const { events } = await readSse(await analyse(owner, sessionId, { engine: "statistical" }));
    const analysisId = dataOf<{ analysisId: string }>(events.at(-1)!).analysisId;
    // As a Worker evicted on its last attempt leaves it: running, its heartbeat long silent.
    await createDb(env)
      .update(analyses)
      .set({ status: "running", summary: null, finishedAt: null, attempts: 4, heartbeatAt: sql`now() - interval '10 minutes'` })
      .where(eq(analyses.id, analysisId));
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/15 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const [hook] = await received(name, 1);
    expect(verify(endpoint.secret, hook!)).toMatchObject({
      type: "analysis.failed",
      data: { analysisId, sessionId, error: { code: "ANALYSIS_ABANDONED" } },
    });
  });
});
