// Direct dataset uploads in tests of the binary formats (Parquet, Excel), and what an upload leaves behind.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index.ts";
import { BASE, call, checkedFetch, json, type Person, randomIp } from "./harness.ts";

/** `POST /projects/{id}/datasets` with `body` of media type `type`. */
export const send = (who: Person, projectId: string, body: BodyInit, type: string, query = "") =>
  checkedFetch(`${BASE}/api/v1/projects/${projectId}/datasets${query}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "CF-Connecting-IP": randomIp(), "Content-Type": type },
    body,
  });

/** The upload with configuration overrides (a lower limit), straight to the Worker as the other upload tests do. */
export async function sendWith(who: Person, projectId: string, body: BodyInit, type: string, overrides: Record<string, string>) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}/api/v1/projects/${projectId}/datasets`, {
      method: "POST",
      headers: { Authorization: `Bearer ${who.token}`, "CF-Connecting-IP": randomIp(), "Content-Type": type },
      body,
    }),
    { ...env, ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

/** The project's objects in the datasets bucket. */
export const stored = async (projectId: string) =>
  (await env.DATASETS.list({ prefix: "datasets/" })).objects.filter((o) => o.key.includes(projectId));

export const datasetsOf = async (who: Person, projectId: string) =>
  (await json<{ data: unknown[] }>(await call(`/api/v1/projects/${projectId}/datasets`, { token: who.token }), 200)).data;

/** Rows of the dataset's store through the query API (once it is ready). */
export const query = async (who: Person, id: string, sql: string) =>
  (await json<{ rows: unknown[][] }>(await call(`/api/v1/datasets/${id}/query`, { method: "POST", token: who.token, body: { sql } }), 200))
    .rows;
