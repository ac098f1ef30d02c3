// The email stub over real HTTP from workerd: Resend's wire format (auth, validation, {id}) and the read-out tests use.
import { describe, expect, inject, it } from "vitest";
import type { StoredEmail } from "../../dev/email-stub/server.ts";

const base = inject("emailStub");
const key = inject("workerVars").EMAIL_API_KEY;
const unique = () => `stub-${crypto.randomUUID()}@example.com`;

const send = (body: unknown, authorization = `Bearer ${key}`) =>
  fetch(`${base}/emails`, { method: "POST", headers: { authorization, "content-type": "application/json" }, body: JSON.stringify(body) });
const read = async (query: string) => ((await (await fetch(`${base}/_stub/messages?${query}`)).json()) as { data: StoredEmail[] }).data;

describe("POST /emails", () => {
  it("accepts a message with {id} and keeps it, its links found in the text", async () => {
    const to = unique();
    const response = await send({
      from: "Datacrafted <no-reply@datacrafted.app>",
      to: [to],
      subject: "Hi",
      text: "Go to https://app.example/x#token=abc now",
      html: "<p>hi</p>",
    });
    expect(response.status).toBe(200);
    const { id } = (await response.json()) as { id: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await read(`to=${encodeURIComponent(to)}`)).toEqual([
      expect.objectContaining({ id, to: [to], subject: "Hi", links: ["https://app.example/x#token=abc"], html: "<p>hi</p>" }),
    ]);
  });

  it("answers like Resend without a key (401), with a wrong one (403) and for an invalid message (422)", async () => {
    const message = { from: "a@example.com", to: unique(), subject: "s", text: "t" };
    expect(await (await send(message, "")).json()).toEqual({ statusCode: 401, name: "missing_api_key", message: expect.any(String) });
    expect((await send(message, "Bearer re_wrong")).status).toBe(403);
    for (const invalid of [
      { ...message, to: "not an address" },
      { ...message, subject: "" },
      { from: "a@example.com", to: unique(), subject: "s" },
    ]) {
      const response = await send(invalid);
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ statusCode: 422, name: "validation_error" });
    }
  });
});

describe("GET /_stub/messages", () => {
  it("waits for a message that arrives later, up to its bound", async () => {
    const to = unique();
    const waiting = read(`to=${encodeURIComponent(to)}&min=1&wait=10000`);
    expect((await send({ from: "a@example.com", to, subject: "late", text: "t" })).status).toBe(200);
    expect((await waiting).map((message) => message.subject)).toEqual(["late"]);
    // With nothing to wait for, it answers what there is once the bound passes.
    expect(await read(`to=${encodeURIComponent(unique())}&min=1&wait=50`)).toEqual([]);
  });
});
