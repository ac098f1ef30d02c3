// Uploads as an attacker sends them (issue 14): concurrency, a project deleted mid-upload, NUL, deep nesting, odd headers.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { datasets } from "../../../src/db/schema.ts";
import worker from "../../../src/index.ts";
import { call, json, person, randomIp, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

interface Dataset {
  id: string;
  name: string;
  version: number;
  rowCount: number;
  columnCount: number;
  profile: { columns: { name: string; type: string; min: unknown; max: unknown; topValues: { value: string; count: number }[] }[] };
  sample: Record<string, unknown>[];
}

const encoder = new TextEncoder();

async function project(who: Person) {
  return (
    await json<{ id: string }>(await call("/api/v1/projects", { method: "POST", token: who.token, body: { name: "Adversarial" } }), 201)
  ).id;
}

async function send(
  who: Person,
  projectId: string,
  body: BodyInit,
  contentType: string,
  query = "",
  headers: Record<string, string> = {},
  overrides: Partial<Cloudflare.Env> = {},
) {
  const ctx = createExecutionContext();
  const request = new Request(`https://api.test/api/v1/projects/${projectId}/datasets${query}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "CF-Connecting-IP": randomIp(), "Content-Type": contentType, ...headers },
    body,
  });
  const response = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const stored = async (projectId: string) =>
  (await env.DATASETS.list({ prefix: "datasets/" })).objects.filter((o) => o.key.includes(projectId));
const rowsOf = (projectId: string) =>
  createDb(env)
    .select({ id: datasets.id })
    .from(datasets)
    .where(and(eq(datasets.projectId, projectId)));

// Concurrency matters on real Postgres (REQUIRE_REAL_SERVICES=1, as CI runs): PGlite runs one statement at a time.
describe("uploads of one name at once", () => {
  it("gives 20 concurrent uploads of different files 20 consecutive versions, never a 500", async () => {
    const ada = await person("adv-par");
    const projectId = await project(ada);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => send(ada, projectId, `n\n${i}\n`, "text/csv", "?name=same")));
    const bodies = await Promise.all(
      responses.map(async (response) => ({ status: response.status, body: (await response.json()) as Dataset })),
    );
    expect(bodies.map((b) => b.status)).toEqual(Array(20).fill(201));
    expect(bodies.map((b) => b.body.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await stored(projectId)).toHaveLength(20);
  });

  it("gives 20 concurrent uploads of the same bytes the one dataset", async () => {
    const ada = await person("adv-same");
    const projectId = await project(ada);
    const responses = await Promise.all(Array.from({ length: 20 }, () => send(ada, projectId, "n\n1\n2\n", "text/csv", "?name=same")));
    const bodies = await Promise.all(
      responses.map(async (response) => ({ status: response.status, body: (await response.json()) as Dataset })),
    );
    expect(bodies.map((b) => b.status).sort((a, b) => a - b)).toEqual([...Array(19).fill(200), 201]);
    expect(new Set(bodies.map((b) => b.body.id)).size).toBe(1);
    expect(await stored(projectId)).toHaveLength(1);
    expect(await rowsOf(projectId)).toHaveLength(1);
  });
});

describe("an upload whose project is deleted before it finishes", () => {
  it("answers 404 and leaves no dataset row and no R2 object", async () => {
    const ada = await person("adv-gone");
    const projectId = await project(ada);
    let reading!: () => void;
    const underWay = new Promise<void>((resolve) => (reading = resolve));
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let pulls = 0;
    // The first rows at once; the rest once the project is gone (the handler is reading by then, past its project check).
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        pulls++;
        if (pulls === 1) return controller.enqueue(encoder.encode("id,v\n1,a\n"));
        reading();
        await finished;
        controller.enqueue(encoder.encode("2,b\n"));
        controller.close();
      },
    });
    const pending = send(ada, projectId, body, "text/csv", "?name=gone");
    await underWay;
    expect((await call(`/api/v1/projects/${projectId}`, { method: "DELETE", token: ada.token })).status).toBe(204);
    finish();
    await expectProblem(await pending, 404, "NOT_FOUND");
    expect(await rowsOf(projectId)).toEqual([]);
    expect(await stored(projectId)).toEqual([]);
  });
});

describe("NUL (U+0000) in JSON data", () => {
  const replaced = "\uFFFD";

  it("stores NDJSON with NUL in a value, a key and a nested value, as U+FFFD", async () => {
    const ada = await person("adv-nul");
    const projectId = await project(ada);
    const body = '{"name":"a\\u0000b","k\\u0000ey":1,"tags":{"x\\u0000":["\\u0000"]}}\n{"name":"c","k\\u0000ey":2,"tags":null}\n';
    const dataset = await json<Dataset>(await send(ada, projectId, body, "application/x-ndjson"), 201);
    expect(dataset.profile.columns.map((c) => c.name)).toEqual(["name", `k${replaced}ey`, "tags"]);
    expect(dataset.sample[0]).toEqual({ name: `a${replaced}b`, [`k${replaced}ey`]: 1, tags: { [`x${replaced}`]: [replaced] } });
    expect(dataset.profile.columns[0]).toMatchObject({ min: `a${replaced}b`, max: "c" });
    // Read back from R2 the same way.
    const page = await json<{ columns: string[]; rows: Record<string, unknown>[] }>(
      await call(`/api/v1/datasets/${dataset.id}/rows`, { token: ada.token }),
      200,
    );
    expect(page.columns).toEqual(dataset.profile.columns.map((c) => c.name));
    expect(page.rows[0]).toEqual(dataset.sample[0]);
  });

  it("stores a JSON array with NUL in its values", async () => {
    const ada = await person("adv-nul-json");
    const projectId = await project(ada);
    const dataset = await json<Dataset>(await send(ada, projectId, '[{"a":"\\u0000"},{"a":"x"}]', "application/json"), 201);
    expect(dataset.sample).toEqual([{ a: replaced }, { a: "x" }]);
  });
});

describe("deeply nested JSON", () => {
  /** `levels` objects, one inside the other. */
  const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

  it("profiles a nested value at the limit as JSON text", async () => {
    const ada = await person("adv-deep-ok");
    const projectId = await project(ada);
    // The row's object is level 1: {"v": <31 levels>} nests 32 deep, the default MAX_JSON_DEPTH.
    const dataset = await json<Dataset>(
      await send(ada, projectId, `{"v":${nested(31)}}\n{"v":${nested(31)}}\n`, "application/x-ndjson"),
      201,
    );
    expect(dataset.profile.columns[0]).toMatchObject({ name: "v", type: "string", topValues: [{ value: nested(31), count: 2 }] });
  });

  it.each([
    ["NDJSON", "application/x-ndjson", (inner: string) => `{"v":1}\n{"v":${inner}}\n`],
    ["a JSON array", "application/json", (inner: string) => `[{"v":1},{"v":${inner}}]`],
  ])("refuses %s nesting past the limit with 422, however deep", async (_, type, body) => {
    const ada = await person("adv-deep");
    const projectId = await project(ada);
    for (const levels of [32, 100_000]) {
      const problem = await expectProblem(await send(ada, projectId, body(nested(levels)), type), 422, "JSON_TOO_DEEP");
      expect(problem.detail).toContain("32 levels");
    }
    expect(await stored(projectId)).toEqual([]);
  });

  it("takes the limit from MAX_JSON_DEPTH", async () => {
    const ada = await person("adv-deep-config");
    const projectId = await project(ada);
    const body = `{"v":${nested(3)}}\n`; // 4 levels
    await expectProblem(await send(ada, projectId, body, "application/x-ndjson", "", {}, { MAX_JSON_DEPTH: "3" }), 422, "JSON_TOO_DEEP");
    await json(await send(ada, projectId, body, "application/x-ndjson", "", {}, { MAX_JSON_DEPTH: "4" }), 201);
  });
});

describe("a negative Content-Length", () => {
  it("is a 400 problem when the runtime lets the request through to the app", async () => {
    const ada = await person("adv-length");
    const projectId = await project(ada);
    // Over HTTP workerd answers a plain-text 400 itself (test/dev-server); a Request made in the isolate keeps the header.
    const response = await send(ada, projectId, "a\n1\n", "text/csv", "", { "Content-Length": "-1" });
    await expectProblem(response, 400, "BAD_REQUEST");
    expect(await stored(projectId)).toEqual([]);
  });
});

describe("NDJSON lines across chunks", () => {
  it("joins a line cut into many pieces, and takes a last line with no line break", async () => {
    const ada = await person("adv-lines");
    const projectId = await project(ada);
    const long = "y".repeat(600_000);
    const text = `{"a":1,"s":"${long}"}\n\n{"a":2,"s":"b"}\n{"a":3,"s":"c"}`;
    let at = 0;
    // 1,000-byte pieces, as a slow client sends them: the long line spans 600 of them.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= text.length) return controller.close();
        controller.enqueue(encoder.encode(text.slice(at, at + 1000)));
        at += 1000;
      },
    });
    const dataset = await json<Dataset>(await send(ada, projectId, body, "application/x-ndjson"), 201);
    expect(dataset.rowCount).toBe(3);
    expect(dataset.sample.map((row) => [row.a, String(row.s).length])).toEqual([
      [1, 600_000],
      [2, 1],
      [3, 1],
    ]);
  });
});

describe("an NDJSON line longer than one row may be", () => {
  it("is refused with 422 ROW_TOO_LARGE (held whole, it would take the isolate's memory)", async () => {
    const ada = await person("adv-long-line");
    const projectId = await project(ada);
    const body = `{"a":1}\n{"s":"${"z".repeat(9 * 1024 * 1024)}"}\n`;
    const problem = await expectProblem(await send(ada, projectId, body, "application/x-ndjson"), 422, "ROW_TOO_LARGE");
    expect(problem.detail).toContain("Line 2");
    expect(await stored(projectId)).toEqual([]);
  });
});
