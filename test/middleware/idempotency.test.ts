// Idempotency-Key through the Worker and real Redis: replay, a different body, a request in flight, scoping.
import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/lib/crypto.ts";
import { call, json, person } from "../support/harness.ts";
import { expectProblem } from "../support/problem.ts";

const createOrg = (token: string, key: string, body: unknown) =>
  call("/api/v1/orgs", { method: "POST", token, body, headers: { "Idempotency-Key": key } });

describe("Idempotency-Key", () => {
  it("replays the first response for the same key and body, creating once", async () => {
    const ada = await person("idem");
    const key = crypto.randomUUID();
    const body = { name: "Once", slug: `once-${crypto.randomUUID().slice(0, 8)}` };
    const first = await createOrg(ada.token, key, body);
    const firstBody = await json<{ id: string }>(first, 201);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();

    const again = await createOrg(ada.token, key, body);
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.headers.get("Location")).toBe(first.headers.get("Location"));
    expect(await again.json()).toEqual(firstBody);

    const orgs = await json<{ data: { slug: string }[] }>(await call("/api/v1/orgs?limit=100", { token: ada.token }), 200);
    expect(orgs.data.filter((org) => org.slug === body.slug)).toHaveLength(1);
  });

  it("answers 422 when the key comes back with a different body", async () => {
    const ada = await person("idem-diff");
    const key = crypto.randomUUID();
    await json(await createOrg(ada.token, key, { name: "First" }), 201);
    await expectProblem(await createOrg(ada.token, key, { name: "Second" }), 422, "IDEMPOTENCY_KEY_REUSED");
  });

  it("answers 409 while a request with the key is still in flight", async () => {
    const ada = await person("idem-flight");
    const key = crypto.randomUUID();
    const body = { name: "Slow" };
    // What a concurrent request leaves in Redis while it runs: the key taken, no response yet.
    const fingerprint = await sha256Hex(`POST /api/v1/orgs\n\n${JSON.stringify(body)}`);
    const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, enableTelemetry: false });
    const { sid } = JSON.parse(atob(ada.token.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))) as { sid: string };
    await redis.set(`idem:user:${ada.userId}:${sid}:${await sha256Hex(key)}`, { state: "in-flight", fingerprint }, { ex: 60 });
    const response = await createOrg(ada.token, key, body);
    await expectProblem(response, 409, "IDEMPOTENCY_IN_FLIGHT");
    expect(response.headers.get("Retry-After")).toBe("1");
  });

  it("lets two real concurrent requests create once: one succeeds, the other is 409 or a replay", async () => {
    const ada = await person("idem-race");
    const key = crypto.randomUUID();
    const body = { name: "Race" };
    const [a, b] = await Promise.all([createOrg(ada.token, key, body), createOrg(ada.token, key, body)]);
    expect([a.status, b.status].sort()).toEqual(
      b.headers.get("Idempotent-Replayed") || a.headers.get("Idempotent-Replayed") ? [201, 201] : [201, 409],
    );
    const orgs = await json<{ data: { name: string }[] }>(await call("/api/v1/orgs?limit=100", { token: ada.token }), 200);
    expect(orgs.data.filter((org) => org.name === "Race")).toHaveLength(1);
  });

  it("replays a refusal too, such as a taken slug", async () => {
    const ada = await person("idem-409");
    const slug = `taken-${crypto.randomUUID().slice(0, 8)}`;
    await json(await call("/api/v1/orgs", { method: "POST", token: ada.token, body: { name: "A", slug } }), 201);
    const key = crypto.randomUUID();
    await expectProblem(await createOrg(ada.token, key, { name: "B", slug }), 409, "CONFLICT");
    const replay = await createOrg(ada.token, key, { name: "B", slug });
    expect(replay.status).toBe(409);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
  });

  it("belongs to one caller: another person's same key is theirs alone", async () => {
    const [ada, bob] = [await person("idem-a"), await person("idem-b")];
    const key = crypto.randomUUID();
    const adas = await json<{ id: string }>(await createOrg(ada.token, key, { name: "Shared key" }), 201);
    const bobs = await createOrg(bob.token, key, { name: "Shared key" });
    expect(bobs.headers.get("Idempotent-Replayed")).toBeNull();
    expect((await json<{ id: string }>(bobs, 201)).id).not.toBe(adas.id);
  });

  it("refuses a malformed key", async () => {
    const ada = await person("idem-bad");
    const problem = await expectProblem(await createOrg(ada.token, "x".repeat(300), { name: "X" }), 400, "VALIDATION_FAILED");
    expect(problem.errors).toEqual([{ path: "header.Idempotency-Key", message: expect.any(String) }]);
  });
});
