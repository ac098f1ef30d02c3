// llmDataPolicy through the Worker (integration via SELF): set by owners and admins on the organization, and with `schema`
// no cell value of the dataset reaches the model, in analysis prompts, chat prompts or tool results (the stub's log is scanned).
import { describe, expect, inject, it } from "vitest";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";
import { analyse, dataOf, readSse, scenario, sessionOn, type SseEvent } from "../../support/analysis.ts";
import { settled } from "../../support/dataset-loads.ts";

const unique = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}`;
const ended = (events: SseEvent[]) => events.some((event) => event.event === "done" || event.event === "problem");
const chat = (who: Person, sessionId: string, body: Record<string, unknown>, stream = false) =>
  call(`/api/v1/sessions/${sessionId}/chat`, {
    method: "POST",
    token: who.token,
    body,
    headers: stream ? { Accept: "text/event-stream" } : {},
  });
/** Everything the stub was sent for requests containing `match`, as raw JSON text. */
const sentToModel = async (match: string) => {
  const body = (await (
    await fetch(`${inject("openaiStub").replace(/\/v1$/, "")}/_stub/requests?match=${encodeURIComponent(match)}`)
  ).json()) as { count: number; requests: unknown[] };
  return { count: body.count, text: JSON.stringify(body.requests) };
};

/**
 * A file whose every cell is distinctive: codes and cities no prompt would contain by chance, and numbers with many digits.
 * Its values are returned for the scan (numbers as the text a JSON encoder would write, and as written in the file).
 */
function distinctiveCsv() {
  const lines = ["code,city,amount,weight"];
  const values: string[] = [];
  for (let i = 0; i < 30; i++) {
    const code = `zq${(7_310 + i * 37).toString(36)}xv`;
    const city = ["Qwertyville", "Zyxborough", "Plumquartz"][i % 3]!;
    const amount = (48_213.77 + i * 101.03).toFixed(2);
    const weight = String(917_351 + i * 7_919);
    lines.push(`${code},${city},${amount},${weight}`);
    values.push(code, city, amount, String(Number(amount)), weight);
  }
  return { csv: `${lines.join("\n")}\n`, values: [...new Set(values)] };
}

const setPolicy = (who: Person, slug: string, llmDataPolicy: unknown) =>
  call(`/api/v1/orgs/${slug}`, { method: "PATCH", token: who.token, body: { llmDataPolicy } });

describe("PATCH /orgs/{slug} llmDataPolicy (integration, SELF)", () => {
  it("defaults to sample, is set by owners and admins, refused to members and viewers (403) and to other tenants (404)", async () => {
    const owner = await person("policy-owner");
    const admin = await person("policy-admin");
    const member = await person("policy-member");
    const viewer = await person("policy-viewer");
    const stranger = await person("policy-stranger");
    const slug = await team(owner, "Policy team");
    await addMember(owner, slug, admin, "admin");
    await addMember(owner, slug, member, "member");
    await addMember(owner, slug, viewer, "viewer");

    expect(await json(await call(`/api/v1/orgs/${slug}`, { token: member.token }), 200)).toMatchObject({ llmDataPolicy: "sample" });
    expect(await json(await setPolicy(owner, slug, "schema"), 200)).toMatchObject({ llmDataPolicy: "schema" });
    expect(await json(await setPolicy(admin, slug, "full"), 200)).toMatchObject({ llmDataPolicy: "full" });
    await expectProblem(await setPolicy(member, slug, "schema"), 403, "FORBIDDEN");
    await expectProblem(await setPolicy(viewer, slug, "schema"), 403, "FORBIDDEN");
    await expectProblem(await setPolicy(stranger, slug, "schema"), 404, "NOT_FOUND");
    const bad = await expectProblem(await setPolicy(owner, slug, "everything"), 400, "VALIDATION_FAILED");
    expect(bad.errors![0]!.path).toMatch(/llmDataPolicy/);
    expect(await json(await call(`/api/v1/orgs/${slug}`, { token: viewer.token }), 200)).toMatchObject({ llmDataPolicy: "full" });
  });
});

describe("llmDataPolicy: schema leaks no value to the model (integration, SELF)", () => {
  /** An analysis and a chat turn whose tools read every row, on the person's personal organization under `policy`. */
  async function converse(policy: "schema" | "sample") {
    const ada = await person(`leak-${policy}`);
    await json(await setPolicy(ada, ada.personalOrg, policy), 200);
    const { csv, values } = distinctiveCsv();
    const { sessionId, datasetId } = await sessionOn(ada, "distinctive", csv);
    expect((await settled(ada, datasetId)).query.status).toBe("ready");
    const marker = unique(`leak-${policy}`);

    // The analysis prompt (the model path), then a statistical answer in the history, then a model turn with tools.
    const analysis = await readSse(await analyse(ada, sessionId, { question: `What stands out? ${marker}` }), ended);
    expect(analysis.events.at(-1)!.event).toBe("done");
    // A queued analysis too: its prompt is built by the queue's consumer, which reads the policy itself.
    const queued = await json<{ id: string }>(
      await call(`/api/v1/sessions/${sessionId}/analyses`, { method: "POST", token: ada.token, body: { question: `Queued ${marker}` } }),
      202,
    );
    for (let tries = 0; ; tries++) {
      const { status } = await json<{ status: string }>(await call(`/api/v1/analyses/${queued.id}`, { token: ada.token }), 200);
      if (status === "succeeded" || status === "failed") break;
      expect(tries, "the queued analysis finishes").toBeLessThan(150);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await json(await chat(ada, sessionId, { message: "top 3 city by amount", engine: "statistical" }), 201);
    await scenario(marker, [
      {
        toolCalls: [
          { id: "call_rows", name: "query_dataset", arguments: { sql: "SELECT * FROM dataset" } },
          {
            id: "call_max",
            name: "query_dataset",
            arguments: { sql: "SELECT city, max(amount) AS top, min(code) AS first FROM dataset GROUP BY city" },
          },
          {
            id: "call_chart",
            name: "chart",
            arguments: { spec: { encoding: { x: { field: "city" }, y: { field: "weight", aggregate: "median" } } } },
          },
        ],
      },
      { content: "Here is what the results show." },
    ]);
    const { events } = await readSse(await chat(ada, sessionId, { message: `Show me everything ${marker}` }, true), ended);
    expect(events.at(-1)!.event).toBe("done");
    const results = events
      .filter((event) => event.event === "tool_result")
      .map((event) => dataOf<{ result: { rows: unknown[][]; rowCount: number } | null }>(event));
    return { values, results, sent: await sentToModel(marker) };
  }

  it("sends no cell value in any prompt or tool result under schema, while the person still sees the results", async () => {
    const { values, results, sent } = await converse("schema");
    // The streamed and the queued analysis, and both chat requests, carry the marker: four requests scanned.
    expect(sent.count).toBe(4);
    const leaked = values.filter((value) => sent.text.includes(value));
    expect(leaked).toEqual([]);
    expect(sent.text).toContain("data policy");
    // The person's own results are whole.
    expect(results.map((result) => result?.result?.rowCount)).toEqual([30, 3, 3]);
    expect(JSON.stringify(results)).toContain("Qwertyville");
  });

  it("is a scan that can fail: the same conversation under sample sends the values", async () => {
    const { values, sent } = await converse("sample");
    expect(sent.count).toBe(4);
    expect(values.filter((value) => sent.text.includes(value)).length).toBeGreaterThan(values.length / 2);
  });
});
