// Adversarial Idempotency-Key cases (issue 14, item 10): replays bound to a live session, secrets never kept, the query string counted.
import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { call, json, person, signIn } from "../support/harness.ts";
import { expectProblem } from "../support/problem.ts";

const redis = () =>
  new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    enableTelemetry: false,
    automaticDeserialization: false,
  });

/** Every idempotency record in this run's Redis, as raw text. */
async function storedRecords(): Promise<string[]> {
  const client = redis();
  const values: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, { match: "idem:*", count: 1_000 });
    cursor = String(next);
    for (const key of keys) {
      const value = await client.get<string>(key);
      if (value !== null) values.push(typeof value === "string" ? value : JSON.stringify(value));
    }
  } while (cursor !== "0");
  return values;
}

const withKey = (key: string) => ({ "Idempotency-Key": key });

describe("a replay is bound to a live session", () => {
  it("is refused (401) once the session that made it has signed out, though its token has not expired", async () => {
    const ada = await person("idem-signout");
    const key = crypto.randomUUID();
    const body = { name: "Before sign-out" };
    await json(await call("/api/v1/orgs", { method: "POST", token: ada.token, body, headers: withKey(key) }), 201);
    expect((await call("/api/v1/auth/signout", { method: "POST", token: ada.token })).status).toBe(204);
    const replay = await call("/api/v1/orgs", { method: "POST", token: ada.token, body, headers: withKey(key) });
    await expectProblem(replay, 401, "INVALID_TOKEN");
    expect(replay.headers.get("Idempotent-Replayed")).toBeNull();
  });

  it("is not handed to another session of the same person", async () => {
    const ada = await person("idem-other-session");
    const key = crypto.randomUUID();
    const body = { name: "Per session" };
    const first = await json<{ id: string }>(
      await call("/api/v1/orgs", { method: "POST", token: ada.token, body, headers: withKey(key) }),
      201,
    );
    const other = await signIn(ada.email, ada.password);
    const second = await call("/api/v1/orgs", { method: "POST", token: other.accessToken, body, headers: withKey(key) });
    expect(second.headers.get("Idempotent-Replayed")).toBeNull();
    expect((await json<{ id: string }>(second, 201)).id).not.toBe(first.id);
  });
});

describe("a response carrying a secret", () => {
  it("is never stored: a replay of API key creation is 409 IDEMPOTENCY_NOT_REPLAYABLE, before and after revocation", async () => {
    const ada = await person("idem-secret");
    const key = crypto.randomUUID();
    const path = `/api/v1/orgs/${ada.personalOrg}/api-keys`;
    const body = { name: "ci", scopes: ["read"] };
    const created = await json<{ id: string; key: string }>(
      await call(path, { method: "POST", token: ada.token, body, headers: withKey(key) }),
      201,
    );

    const records = await storedRecords();
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) expect(record).not.toContain(created.key);

    await expectProblem(
      await call(path, { method: "POST", token: ada.token, body, headers: withKey(key) }),
      409,
      "IDEMPOTENCY_NOT_REPLAYABLE",
    );
    expect((await call(`${path}/${created.id}`, { method: "DELETE", token: ada.token })).status).toBe(204);
    const afterRevoke = await call(path, { method: "POST", token: ada.token, body, headers: withKey(key) });
    await expectProblem(afterRevoke, 409, "IDEMPOTENCY_NOT_REPLAYABLE");

    // Created once: the retry neither replayed the secret nor made a second key.
    const keys = await json<{ data: { name: string }[] }>(await call(`${path}?limit=100`, { token: ada.token }), 200);
    expect(keys.data.filter((k) => k.name === "ci")).toHaveLength(1);
  });

  it("keeps no tokens from a refresh sent with an Idempotency-Key", async () => {
    const ada = await person("idem-refresh");
    const key = crypto.randomUUID();
    const body = { refreshToken: ada.tokens.refreshToken };
    const fresh = await json<{ refreshToken: string; accessToken: string }>(
      await call("/api/v1/auth/refresh", { method: "POST", token: ada.token, body, headers: withKey(key) }),
      200,
    );
    for (const record of await storedRecords()) {
      expect(record).not.toContain(fresh.refreshToken);
      expect(record).not.toContain(fresh.accessToken);
    }
  });
});

describe("the request fingerprint", () => {
  it("includes the query string: the same key with another query is 422, not a replay", async () => {
    const ada = await person("idem-query");
    const key = crypto.randomUUID();
    const body = { name: "Query" };
    await json(await call("/api/v1/orgs?source=a", { method: "POST", token: ada.token, body, headers: withKey(key) }), 201);
    await expectProblem(
      await call("/api/v1/orgs?source=b", { method: "POST", token: ada.token, body, headers: withKey(key) }),
      422,
      "IDEMPOTENCY_KEY_REUSED",
    );
  });
});

describe("PATCH", () => {
  it("honours Idempotency-Key: the same key and body replay the first answer; another body is 422", async () => {
    const ada = await person("idem-patch");
    const project = await json<{ id: string }>(
      await call("/api/v1/projects", { method: "POST", token: ada.token, body: { name: "P" } }),
      201,
    );
    const path = `/api/v1/projects/${project.id}`;
    const key = crypto.randomUUID();
    const first = await json<{ name: string }>(
      await call(path, { method: "PATCH", token: ada.token, body: { name: "Renamed" }, headers: withKey(key) }),
      200,
    );
    // Someone else renames it meanwhile; a retry of the first PATCH must not undo that.
    await json(await call(path, { method: "PATCH", token: ada.token, body: { name: "Later" } }), 200);
    const retry = await call(path, { method: "PATCH", token: ada.token, body: { name: "Renamed" }, headers: withKey(key) });
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await json<{ name: string }>(retry, 200)).toEqual(first);
    expect((await json<{ name: string }>(await call(path, { token: ada.token }), 200)).name).toBe("Later");
    await expectProblem(
      await call(path, { method: "PATCH", token: ada.token, body: { name: "Other" }, headers: withKey(key) }),
      422,
      "IDEMPOTENCY_KEY_REUSED",
    );
  });
});
