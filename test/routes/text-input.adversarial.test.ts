// Adversarial text (issue 14, item 4): U+0000 in any text a client sends is a 400 naming the field, never a 500 from Postgres.
import { beforeAll, describe, expect, it } from "vitest";
import { checkedFetch, BASE, call, json, person, randomIp, type Person } from "../support/harness.ts";
import { sessionOn } from "../support/analysis.ts";
import { createSource, postgresBody } from "../support/data-sources.ts";
import { expectProblem } from "../support/problem.ts";

const NUL = "\u0000";

interface Fixture {
  ada: Person;
  projectId: string;
  datasetId: string;
  sessionId: string;
  sourceId: string;
}

let f: Fixture;

beforeAll(async () => {
  const ada = await person("nul");
  const { projectId, datasetId, sessionId } = await sessionOn(ada, "nul-sales");
  const source = await createSource(ada, ada.personalOrg, postgresBody());
  f = { ada, projectId, datasetId, sessionId, sourceId: source.id };
});

/** Asserts a 400 VALIDATION_FAILED with one error, naming `path` (or, for a record's key, a path inside it). */
async function expectNamed(response: Response, path: string) {
  const problem = await expectProblem(response, 400, "VALIDATION_FAILED");
  const errors = problem.errors as { path: string; message: string }[];
  expect(errors).toHaveLength(1);
  expect(errors[0]!.message).toContain("NUL");
  expect(errors[0]!.path === path || errors[0]!.path.startsWith(`${path}.`), errors[0]!.path).toBe(true);
}

describe("NUL in a JSON body", () => {
  const cases: [string, () => { path: string; method: string; body: unknown; field: string }][] = [
    ["project name", () => ({ path: "/api/v1/projects", method: "POST", body: { name: `a${NUL}b` }, field: "body.name" })],
    [
      "project description",
      () => ({ path: `/api/v1/projects/${f.projectId}`, method: "PATCH", body: { description: `d${NUL}` }, field: "body.description" }),
    ],
    [
      "project settings value (jsonb)",
      () => ({
        path: "/api/v1/projects",
        method: "POST",
        body: { name: "ok", settings: { deep: [{ v: `x${NUL}` }] } },
        field: "body.settings",
      }),
    ],
    [
      "project settings key (jsonb)",
      () => ({ path: "/api/v1/projects", method: "POST", body: { name: "ok", settings: { [`k${NUL}`]: 1 } }, field: "body.settings" }),
    ],
    [
      "session title on create",
      () => ({ path: "/api/v1/sessions", method: "POST", body: { datasetId: f.datasetId, title: `t${NUL}` }, field: "body.title" }),
    ],
    [
      "session title on update",
      () => ({ path: `/api/v1/sessions/${f.sessionId}`, method: "PATCH", body: { title: `t${NUL}` }, field: "body.title" }),
    ],
    [
      "chat message",
      () => ({ path: `/api/v1/sessions/${f.sessionId}/chat`, method: "POST", body: { message: `hi${NUL}` }, field: "body.message" }),
    ],
    [
      "analysis question",
      () => ({ path: `/api/v1/sessions/${f.sessionId}/analyses`, method: "POST", body: { question: `why${NUL}` }, field: "body.question" }),
    ],
    ["PATCH /me name", () => ({ path: "/api/v1/me", method: "PATCH", body: { name: `Ada${NUL}` }, field: "body.name" })],
    ["organization name on create", () => ({ path: "/api/v1/orgs", method: "POST", body: { name: `Org${NUL}` }, field: "body.name" })],
    [
      "organization name on update",
      () => ({ path: `/api/v1/orgs/${f.ada.personalOrg}`, method: "PATCH", body: { name: `Org${NUL}` }, field: "body.name" }),
    ],
    [
      "data-source name on create",
      () => ({
        path: `/api/v1/orgs/${f.ada.personalOrg}/data-sources`,
        method: "POST",
        body: postgresBody({ name: `pg${NUL}` }),
        field: "body.name",
      }),
    ],
    [
      "data-source name on update",
      () => ({
        path: `/api/v1/orgs/${f.ada.personalOrg}/data-sources/${f.sourceId}`,
        method: "PATCH",
        body: { name: `pg${NUL}` },
        field: "body.name",
      }),
    ],
    [
      "data-source import name",
      () => ({
        path: `/api/v1/orgs/${f.ada.personalOrg}/data-sources/${f.sourceId}/import`,
        method: "POST",
        body: { sql: "SELECT 1", projectId: f.projectId, name: `n${NUL}` },
        field: "body.name",
      }),
    ],
    [
      "API key name",
      () => ({
        path: `/api/v1/orgs/${f.ada.personalOrg}/api-keys`,
        method: "POST",
        body: { name: `k${NUL}`, scopes: ["read"] },
        field: "body.name",
      }),
    ],
  ];

  for (const [what, make] of cases) {
    it(`refuses it in the ${what} with 400 naming the field`, async () => {
      const { path, method, body, field } = make();
      await expectNamed(await call(path, { method, token: f.ada.token, body }), field);
    });
  }

  it("refuses it in the sign-up name, and creates no account", async () => {
    const email = `nul-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const body = { email, password: "correct horse battery", name: `Ada${NUL}` };
    await expectNamed(await call("/api/v1/auth/signup", { method: "POST", body }), "body.name");
    await expectProblem(
      await call("/api/v1/auth/signin", { method: "POST", body: { email, password: body.password } }),
      401,
      "INVALID_CREDENTIALS",
    );
  });

  it("leaves nothing written: the refused project and organization do not exist, the names are unchanged", async () => {
    const projects = await json<{ data: { name: string }[] }>(await call("/api/v1/projects?limit=100", { token: f.ada.token }), 200);
    expect(projects.data.map((p) => p.name).filter((name) => name.includes(NUL) || name === "ok")).toEqual([]);
    const me = await json<{ name: string | null; organizations: { name: string }[] }>(
      await call("/api/v1/me", { token: f.ada.token }),
      200,
    );
    expect(JSON.stringify(me)).not.toContain("\\u0000");
  });
});

describe("NUL in a query string", () => {
  for (const [what, path, field] of [
    ["project search ?q=", () => `/api/v1/projects?q=a%00b`, "query.q"],
    ["dataset list ?name=", () => `/api/v1/projects/${f.projectId}/datasets?name=a%00`, "query.name"],
    ["audit log ?action=", () => `/api/v1/orgs/${f.ada.personalOrg}/audit-logs?action=create%00`, "query.action"],
  ] as const) {
    it(`refuses it in the ${what} with 400 naming the field`, async () => {
      await expectNamed(await call(path(), { token: f.ada.token }), field);
    });
  }
});

describe("NUL in an upload's dataset name", () => {
  const upload = (query: string, init: { body: BodyInit; contentType?: string }) =>
    checkedFetch(`${BASE}/api/v1/projects/${f.projectId}/datasets${query}`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${f.ada.token}`,
        "CF-Connecting-IP": randomIp(),
        ...(init.contentType ? { "Content-Type": init.contentType } : {}),
      },
      body: init.body,
    });

  it("refuses ?name= with 400 naming the field", async () => {
    await expectNamed(await upload("?name=sales%00", { body: "a,b\n1,2\n", contentType: "text/csv" }), "query.name");
  });

  it("refuses a multipart name field, and a file name, with 400 naming the field", async () => {
    const named = new FormData();
    named.set("name", `sales${NUL}`);
    named.set("file", new File(["a,b\n1,2\n"], "sales.csv", { type: "text/csv" }));
    await expectNamed(await upload("", { body: named }), "body.name");

    const file = new FormData();
    file.set("file", new File(["a,b\n1,2\n"], `sa${NUL}les.csv`, { type: "text/csv" }));
    const response = await upload("", { body: file });
    // A client may encode the NUL in the file name or drop it; either way no 500 and no dataset named with it.
    expect([201, 400]).toContain(response.status);
    if (response.status === 400) await expectNamed(response, "body.file");
    else expect((await response.json<{ name: string }>()).name).not.toContain(NUL);
  });
});
