// Fault injection: the fault Worker's Postgres gateway, Redis gateway and model stub really stop mid-traffic, then come back.
import { afterEach, describe, expect, inject, it } from "vitest";
import type { Problem } from "../../src/lib/problem.ts";
import { readSse, salesCsv, validAnswer, type SseEvent } from "../support/analysis.ts";
import type { R2State } from "../support/fault-control.ts";
import { randomIp } from "../support/harness.ts";

const WORKER = inject("faultWorkerUrl");
const CONTROL = inject("faultControlUrl");
const STUB = inject("faultOpenaiStub").replace(/\/v1$/, "");

/** Where the outage stands when a request is sent and when its answer arrives (JS order, not clocks: workerd's clock stands still between I/O). */
type Phase = "up" | "stopping" | "down" | "starting" | "recovered";
let phase: Phase = "up";

interface Answer {
  label: string;
  /** What the request was about (a project's name), to find its trace afterwards. */
  tag?: string;
  status: number; // 0: no answer in time, or the connection failed
  contentType: string | null;
  retryAfter: string | null;
  body: unknown;
  sentIn: Phase;
  answeredIn: Phase;
  failure?: string;
}

/** One request to the fault Worker, bounded in time: a hung request becomes status 0, never a hung test. */
async function send(
  path: string,
  {
    method = "GET",
    token,
    body,
    headers = {},
    label = `${method} ${path}`,
    tag,
    timeoutMs = 6_000,
  }: {
    method?: string;
    tag?: string;
    token?: string;
    body?: unknown;
    headers?: Record<string, string>;
    label?: string;
    timeoutMs?: number;
  } = {},
): Promise<Answer> {
  const sentIn = phase;
  try {
    const response = await fetch(`${WORKER}${path}`, {
      method,
      headers: {
        "CF-Connecting-IP": randomIp(),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (an event stream): kept as text
    }
    return {
      label,
      tag,
      status: response.status,
      contentType: response.headers.get("Content-Type"),
      retryAfter: response.headers.get("Retry-After"),
      body: parsed,
      sentIn,
      answeredIn: phase,
    };
  } catch (error) {
    return { label, tag, status: 0, contentType: null, retryAfter: null, body: null, sentIn, answeredIn: phase, failure: String(error) };
  }
}

const problemOf = (answer: Answer) => answer.body as Problem & Record<string, unknown>;

/** A readable account of answers for assertion messages: label → status/code → count. */
function tally(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const code = answer.status >= 400 ? ` ${problemOf(answer)?.code ?? answer.failure ?? "?"}` : "";
    const key = `${answer.label.replace(/\?.*$/, "")} → ${answer.status}${code} [${answer.sentIn}→${answer.answeredIn}]`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** An RFC 9457 problem with this status and code; a 503 says when to come back. */
function isProblem(answer: Answer, status: number, code: string): boolean {
  const problem = problemOf(answer);
  return (
    answer.status === status &&
    answer.contentType === "application/problem+json" &&
    problem?.status === status &&
    problem.code === code &&
    typeof problem.detail === "string" &&
    typeof problem.requestId === "string" &&
    (status !== 503 || Number(answer.retryAfter) > 0)
  );
}

async function control(path: string, method = "POST"): Promise<unknown> {
  const response = await fetch(`${CONTROL}${path}`, { method, signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`control ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Stops `dependency` (its server closes and drops every connection), runs `whileDown`, and always brings it back. */
async function outage(dependency: "neon" | "upstash" | "openai", whileDown: () => Promise<void>) {
  phase = "stopping";
  await control(`/${dependency}/stop`);
  phase = "down";
  try {
    await whileDown();
  } finally {
    phase = "starting";
    await control(`/${dependency}/start`);
    phase = "recovered";
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `probe` until `done` says so, at most `withinMs`: a recovery has a deadline. */
async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, withinMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(everyMs);
  }
}

/**
 * Keeps `concurrency` requests in flight (the i-th from `request(i)`) while `script` runs, then
 * waits for the last ones: the traffic an outage lands in the middle of.
 */
async function traffic(request: (i: number) => Promise<Answer>, script: () => Promise<void>, concurrency = 4): Promise<Answer[]> {
  const answers: Answer[] = [];
  let running = true;
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) answers.push(await request(next++));
  });
  try {
    await script();
  } finally {
    running = false;
    await Promise.all(workers);
  }
  return answers;
}

interface Account {
  email: string;
  token: string;
}

/** Signs up and in on the fault Worker (before anything is stopped). */
async function account(label: string): Promise<Account> {
  const email = `${label}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = `pw-${crypto.randomUUID()}`;
  const signup = await send("/api/v1/auth/signup", { method: "POST", body: { email, password } });
  expect(signup.status, JSON.stringify(signup.body)).toBe(202);
  const signin = await send("/api/v1/auth/signin", { method: "POST", body: { email, password } });
  expect(signin.status, JSON.stringify(signin.body)).toBe(200);
  return { email, token: (signin.body as { accessToken: string }).accessToken };
}

/** Every live project of the caller (all pages). */
async function projectNames(who: Account): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | null = null;
  do {
    const page: Answer = await send(`/api/v1/projects?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, {
      token: who.token,
    });
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    const body = page.body as { data: { name: string }[]; nextCursor: string | null };
    names.push(...body.data.map((project) => project.name));
    cursor = body.nextCursor;
  } while (cursor);
  return names;
}

/** The mixed traffic of one person: list projects, create one (a unique name per request), read the account. */
function mixed(who: Account, run: string, extra: (i: number) => Record<string, string> = () => ({})) {
  return (i: number): Promise<Answer> => {
    const kind = i % 3;
    if (kind === 0) return send("/api/v1/projects", { token: who.token, label: "GET /projects" });
    if (kind === 1) return send("/api/v1/me", { token: who.token, label: "GET /me" });
    const name = `${run}-${i}`;
    return send("/api/v1/projects", {
      method: "POST",
      token: who.token,
      body: { name },
      headers: extra(i),
      label: "POST /projects",
      tag: name,
    });
  };
}

const creates = (answers: Answer[]) => answers.filter((a) => a.label === "POST /projects");

/**
 * After the outage: every create answered 201 exists exactly once; one refused while the
 * dependency was down does not; nothing else appeared. `uncertain` creates (cut off while being
 * answered: the client cannot know whether they committed) may exist or not.
 */
function expectNoHalfWrites(names: string[], answers: Answer[], uncertain: (a: Answer) => boolean, refused: (a: Answer) => boolean) {
  const posts = creates(answers);
  expect(new Set(names).size, "no project twice").toBe(names.length);
  for (const post of posts.filter((a) => a.status === 201)) expect(names, `created ${post.tag}`).toContain(post.tag);
  const notCreated = posts.filter(refused);
  for (const post of notCreated) expect(names, `refused ${post.tag}`).not.toContain(post.tag);
  const accounted = new Set(posts.filter((a) => a.status === 201 || uncertain(a)).map((a) => a.tag));
  expect(
    names.filter((name) => !accounted.has(name)),
    "projects nobody was told about",
  ).toEqual([]);
  return notCreated.length;
}

async function createProject(who: Account, name: string): Promise<{ id: string }> {
  const answer = await send("/api/v1/projects", { method: "POST", token: who.token, body: { name } });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body as { id: string };
}

/** SQL requests the Postgres gateway has received, once the count has settled (audit rows are written after responses). */
async function settledSqlCount(): Promise<number> {
  let last = -1;
  for (let i = 0; i < 30; i++) {
    const { requests } = (await control("/neon/stats", "GET")) as { requests: number };
    if (requests === last) return requests;
    last = requests;
    await sleep(100);
  }
  return last;
}

afterEach(async () => {
  // A test that failed half-way must not leave the next one without its dependencies.
  for (const dependency of ["neon", "upstash", "openai"]) await control(`/${dependency}/start`);
  await control("/neon/delay?ms=0");
  phase = "up";
});

describe.sequential("fault injection on the fault Worker's own stack", () => {
  it("Postgres stops mid-traffic: 503 problems with Retry-After, nothing half-written, recovery without a restart", async () => {
    const ada = await account("pg-outage");
    const run = `pg-${crypto.randomUUID().slice(0, 6)}`;
    let readyDuring: Answer | undefined;
    const answers = await traffic(mixed(ada, run), async () => {
      await sleep(400);
      await outage("neon", async () => {
        await sleep(300);
        readyDuring = await send("/health/ready");
        await sleep(700);
      });
      await sleep(800);
    });

    // (a) Every answer is a success or the outage's problem: never a 500, never a hang.
    const allowed = (a: Answer) => (a.status >= 200 && a.status < 300) || isProblem(a, 503, "DEPENDENCY_UNAVAILABLE");
    expect(
      answers.filter((a) => !allowed(a)),
      JSON.stringify(tally(answers)),
    ).toEqual([]);
    const inside = answers.filter((a) => a.sentIn === "down" && a.answeredIn === "down");
    expect(inside.length, JSON.stringify(tally(answers))).toBeGreaterThanOrEqual(8);
    expect(
      inside.every((a) => isProblem(a, 503, "DEPENDENCY_UNAVAILABLE")),
      JSON.stringify(tally(inside)),
    ).toBe(true);
    expect(problemOf(inside[0]!).detail).toContain("database");
    expect(isProblem(readyDuring!, 503, "DEPENDENCY_UNAVAILABLE"), JSON.stringify(readyDuring)).toBe(true);
    expect(problemOf(readyDuring!).checks).toMatchObject({ postgres: { status: "down" }, redis: { status: "up" } });

    // (c) Back by itself: every request sent after the restart succeeded, on the same Worker.
    const after = answers.filter((a) => a.sentIn === "recovered");
    expect(after.length).toBeGreaterThanOrEqual(8);
    expect(
      after.every((a) => a.status === 200 || a.status === 201),
      JSON.stringify(tally(after)),
    ).toBe(true);
    expect((await send("/health/ready")).status).toBe(200);

    // (b) Nothing half-written: a create refused while Postgres was down left no row; each 201 is there once.
    const refused = expectNoHalfWrites(
      await projectNames(ada),
      answers,
      (a) => a.status !== 201 && a.sentIn !== "down",
      (a) => a.status === 503 && a.sentIn === "down",
    );
    expect(refused).toBeGreaterThan(0);
  }, 30_000);

  it("a dataset upload cut off by a Postgres outage leaves no dataset and no R2 object", async () => {
    const ada = await account("upload-outage");
    const project = await createProject(ada, "Uploads");
    const csv = salesCsv(400);
    const [head, tail] = [csv.slice(0, 2_000), csv.slice(2_000)];

    // The body streams: the project check (Postgres) runs on the first bytes, the outage lands before the last ones.
    const before = await settledSqlCount();
    const body = new TransformStream<Uint8Array, Uint8Array>();
    const writer = body.writable.getWriter();
    const encoder = new TextEncoder();
    const upload = fetch(`${WORKER}/api/v1/projects/${project.id}/datasets?name=cut-off`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ada.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": randomIp() },
      body: body.readable,
      signal: AbortSignal.timeout(8_000),
    });
    await writer.write(encoder.encode(head));
    const seen = await until(
      () => control("/neon/stats", "GET") as Promise<{ requests: number }>,
      (stats) => stats.requests > before,
      3_000,
      20,
    );
    expect(seen.requests, "the project check reached Postgres").toBeGreaterThan(before);
    await sleep(150); // its answer is back: the upload is now streaming into R2
    let answer!: Response;
    await outage("neon", async () => {
      await writer.write(encoder.encode(tail));
      await writer.close();
      answer = await upload;
      expect(answer.status, await answer.clone().text()).toBe(503);
      expect(answer.headers.get("Content-Type")).toBe("application/problem+json");
      expect(answer.headers.get("Retry-After")).toBe("5");
      expect(((await answer.json()) as Problem).code).toBe("DEPENDENCY_UNAVAILABLE");
      // Refused before a byte reaches R2: a second upload while Postgres is still down.
      const refused = await fetch(`${WORKER}/api/v1/projects/${project.id}/datasets?name=refused`, {
        method: "POST",
        headers: { Authorization: `Bearer ${ada.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": randomIp() },
        body: salesCsv(10),
        signal: AbortSignal.timeout(5_000),
      });
      expect(refused.status).toBe(503);
      await refused.body?.cancel();
    });

    // The file did reach R2 (a completed multipart upload under the project), and was removed again.
    const r2 = (await control(`/r2/objects?contains=${project.id}`, "GET")) as R2State;
    expect(
      r2.uploads.map((u) => u.state),
      "the upload had streamed into R2",
    ).toContain(1);
    expect(r2.objects, "no R2 object left behind").toEqual([]);
    expect(
      r2.uploads.filter((u) => u.state === 0),
      "no unfinished multipart upload",
    ).toEqual([]);

    // No dataset row either: the list is empty, and the same bytes upload afresh as version 1.
    const list = await send(`/api/v1/projects/${project.id}/datasets`, { token: ada.token });
    expect(list.status).toBe(200);
    expect((list.body as { data: unknown[] }).data).toEqual([]);
    const again = await fetch(`${WORKER}/api/v1/projects/${project.id}/datasets?name=cut-off`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ada.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": randomIp() },
      body: csv,
      signal: AbortSignal.timeout(5_000),
    });
    expect(again.status, await again.clone().text()).toBe(201);
    expect(((await again.json()) as { version: number }).version).toBe(1);
    expect(((await control(`/r2/objects?contains=${project.id}`, "GET")) as R2State).objects).toHaveLength(1);
  }, 20_000);

  it("Redis stops mid-traffic: fail-open lets requests through, /health/ready reports the degradation, recovery without a restart", async () => {
    const ada = await account("redis-outage");
    const run = `redis-${crypto.randomUUID().slice(0, 6)}`;
    // Every fourth create carries an Idempotency-Key: without Redis it cannot be guarded, so it is refused, not run.
    const keyed = (i: number): Record<string, string> => (i % 4 === 2 ? { "Idempotency-Key": `${run}-${i}` } : {});
    let readyDuring: Answer | undefined;
    const answers = await traffic(mixed(ada, run, keyed), async () => {
      await sleep(400);
      await outage("upstash", async () => {
        await sleep(300);
        readyDuring = await send("/health/ready");
        await sleep(700);
      });
      await sleep(800);
    });

    // (a) Fail open: everything passes but a keyed create, which is a 503 problem; never a 500, never a hang.
    const isKeyed = (a: Answer) => a.label === "POST /projects" && Number(a.tag!.split("-").pop()) % 4 === 2;
    const allowed = (a: Answer) => (a.status >= 200 && a.status < 300) || (isKeyed(a) && isProblem(a, 503, "DEPENDENCY_UNAVAILABLE"));
    expect(
      answers.filter((a) => !allowed(a)),
      JSON.stringify(tally(answers)),
    ).toEqual([]);
    const inside = answers.filter((a) => a.sentIn === "down" && a.answeredIn === "down");
    expect(inside.filter((a) => !isKeyed(a)).length, JSON.stringify(tally(answers))).toBeGreaterThanOrEqual(8);
    expect(inside.filter((a) => !isKeyed(a)).every((a) => a.status === 200 || a.status === 201)).toBe(true);
    expect(
      inside.filter(isKeyed).every((a) => a.status === 503),
      JSON.stringify(tally(inside)),
    ).toBe(true);

    // /health/ready says Redis is down and the limiter is failing open.
    expect(isProblem(readyDuring!, 503, "DEPENDENCY_UNAVAILABLE"), JSON.stringify(readyDuring)).toBe(true);
    expect(problemOf(readyDuring!)).toMatchObject({
      checks: { postgres: { status: "up" }, redis: { status: "down" } },
      rateLimiter: { failMode: "open", status: "degraded", since: expect.any(String) },
    });

    // (c) Back by itself: requests are counted again (RateLimit headers) and readiness clears.
    const after = answers.filter((a) => a.sentIn === "recovered");
    expect(after.length).toBeGreaterThanOrEqual(8);
    expect(
      after.every((a) => a.status === 200 || a.status === 201),
      JSON.stringify(tally(after)),
    ).toBe(true);
    const limited = await fetch(`${WORKER}/api/v1/me`, {
      headers: { Authorization: `Bearer ${ada.token}`, "CF-Connecting-IP": randomIp() },
      signal: AbortSignal.timeout(5_000),
    });
    expect(limited.status).toBe(200);
    expect(limited.headers.get("RateLimit")).toMatch(/^"free";r=\d+;t=\d+$/);
    await limited.body?.cancel();
    const ready = await until(
      () => send("/health/ready"),
      (a) => a.status === 200,
      3_000,
    );
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);
    expect(ready.body).toMatchObject({ status: "ready", rateLimiter: { failMode: "open", status: "ok", since: null } });

    // (b) Nothing half-written: a keyed create refused for want of Redis was not run.
    const refused = expectNoHalfWrites(
      await projectNames(ada),
      answers,
      () => false,
      (a) => a.status === 503,
    );
    expect(refused).toBeGreaterThan(0);
  }, 30_000);

  it("Redis dropping while an idempotent create runs: the create's own answer stands", async () => {
    const ada = await account("idem-drop");
    const name = `idem-${crypto.randomUUID().slice(0, 6)}`;
    await control("/neon/delay?ms=700");
    const before = await settledSqlCount();
    // The key is taken in Redis, then the insert waits in the Postgres gateway while Redis goes away.
    const create = send("/api/v1/projects", {
      method: "POST",
      token: ada.token,
      body: { name },
      headers: { "Idempotency-Key": name },
      tag: name,
      label: "POST /projects",
    });
    const seen = await until(
      () => control("/neon/stats", "GET") as Promise<{ requests: number }>,
      (stats) => stats.requests > before,
      3_000,
      20,
    );
    expect(seen.requests, "the insert reached Postgres").toBeGreaterThan(before);
    let answer!: Answer;
    await outage("upstash", async () => {
      answer = await create;
    });
    await control("/neon/delay?ms=0");
    // The project was created: the client must hear 201, not a 503 that invites a retry making a second one.
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(await projectNames(ada)).toEqual([name]);
  }, 15_000);

  it("the model stub stops mid-stream: the analysis fails cleanly, the breaker opens (503 MODEL_UNAVAILABLE), and it recovers after the cool-down", async () => {
    const ada = await account("model-outage");
    const project = await createProject(ada, "Model");
    const upload = await fetch(`${WORKER}/api/v1/projects/${project.id}/datasets?name=sales`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ada.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": randomIp() },
      body: salesCsv(),
      signal: AbortSignal.timeout(5_000),
    });
    expect(upload.status).toBe(201);
    const datasetId = ((await upload.json()) as { id: string }).id;
    const session = await send("/api/v1/sessions", { method: "POST", token: ada.token, body: { datasetId } });
    expect(session.status).toBe(201);
    const sessionId = (session.body as { id: string }).id;
    const marker = `fault-${crypto.randomUUID().slice(0, 8)}`;
    // A slow answer, charts first (about 1.2 s in all, under the 1.5 s timeout): the stub goes down once a chart has streamed.
    const { summary, insights, charts } = JSON.parse(validAnswer) as Record<string, unknown>;
    const chartsFirst = JSON.stringify({ summary, charts, insights });
    const scripted = await fetch(`${STUB}/_stub/scenarios`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ match: marker, responses: [{ content: chartsFirst, chunkSize: 30, delayMs: 40 }] }),
      signal: AbortSignal.timeout(5_000),
    });
    expect(scripted.status).toBe(201);

    const analyse = (question: string, accept = "text/event-stream") =>
      fetch(`${WORKER}/api/v1/sessions/${sessionId}/analyses`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${ada.token}`,
          "Content-Type": "application/json",
          Accept: accept,
          "CF-Connecting-IP": randomIp(),
        },
        body: JSON.stringify({ question }),
        signal: AbortSignal.timeout(8_000),
      });
    /** Reads an event stream to its end (bounded by the fetch's own timeout), calling `onEvent` as events arrive. */
    const drain = async (response: Response, onEvent: (events: SseEvent[]) => Promise<void> = async () => {}) =>
      (await readSse(response, async (events) => (await onEvent(events), false))).events;

    // 1. Mid-stream: a chart has been streamed when the stub stops; the stream ends with `error`, promptly.
    const streamed = await analyse(`Trends? ${marker}`);
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    let stopped = false;
    const events = await drain(streamed, async (sofar) => {
      if (stopped || !sofar.some((e) => e.event === "chart")) return;
      stopped = true;
      phase = "stopping";
      await control("/openai/stop");
      phase = "down";
    });
    try {
      expect(stopped, JSON.stringify(events.map((e) => e.event))).toBe(true);
      const last = events.at(-1)!;
      expect(last.event, JSON.stringify(events.map((e) => e.event))).toBe("problem");
      const error = JSON.parse(last.data) as Problem & { analysisId: string };
      expect(error.status).toBeGreaterThanOrEqual(500);
      expect(error.code).toMatch(/^MODEL_/);
      // Failed, with none of the charts it had streamed.
      const first = await send(`/api/v1/analyses/${error.analysisId}`, { token: ada.token });
      expect(first.body).toMatchObject({ status: "failed", charts: [], error: { code: error.code } });

      // 2. Still down: the next analysis fails too, and that opens the breaker (threshold 2)…
      const second = await analyse("Anything else?");
      const secondEvents = second.status === 200 ? await drain(second) : [];
      expect(secondEvents.at(-1)?.event, JSON.stringify(secondEvents)).toBe("problem");

      // 3. …so later calls, streamed or queued, are refused before they start: 503 MODEL_UNAVAILABLE, nothing recorded.
      for (const accept of ["text/event-stream", "application/json"]) {
        const refused = await analyse("Refused?", accept);
        const body = (await refused.json()) as Problem;
        expect(refused.status, JSON.stringify(body)).toBe(503);
        expect(refused.headers.get("Content-Type")).toBe("application/problem+json");
        expect(body.code).toBe("MODEL_UNAVAILABLE");
        expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
        expect(Number(refused.headers.get("Retry-After"))).toBeLessThanOrEqual(2);
      }
      const recorded = await send(`/api/v1/sessions/${sessionId}/analyses`, { token: ada.token });
      const rows = (recorded.body as { data: { status: string; charts: unknown[] }[] }).data;
      expect(rows.map((row) => [row.status, row.charts.length])).toEqual([
        ["failed", 0],
        ["failed", 0],
      ]);
    } finally {
      phase = "starting";
      await control("/openai/start");
      phase = "recovered";
    }

    // 4. Back: once the cool-down has passed, an analysis streams to `done` and is saved with its charts.
    const recovered = await until(
      () => analyse("Recovered?"),
      (response) => response.status !== 503,
      5_000,
      250,
    );
    expect(recovered.status).toBe(200);
    const done = await drain(recovered);
    expect(done.at(-1)?.event, JSON.stringify(done.map((e) => e.event))).toBe("done");
    const { analysisId } = JSON.parse(done.at(-1)!.data) as { analysisId: string };
    const saved = await send(`/api/v1/analyses/${analysisId}`, { token: ada.token });
    expect(saved.body).toMatchObject({ status: "succeeded" });
    expect((saved.body as { charts: unknown[] }).charts.length).toBeGreaterThan(0);
  }, 25_000);
});
