// Assertions shared by every test that expects an RFC 9457 problem.
import { expect } from "vitest";
import type { ErrorCode, Problem } from "../../src/lib/problem.ts";

/** Asserts `response` is problem+json with this status and code, tied to its request id; returns the body. */
export async function expectProblem(response: Response, status: number, code: ErrorCode): Promise<Problem & Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toBe("application/problem+json");
  const body = (await response.json()) as Problem & Record<string, unknown>;
  expect(body).toMatchObject({
    type: expect.stringMatching(/^https:\/\/datacrafted\.app\/problems\/[a-z0-9-]+$/),
    title: expect.any(String),
    status,
    code,
    detail: expect.any(String),
    instance: expect.stringMatching(/^\//),
  });
  expect(body.requestId).toBe(response.headers.get("X-Request-ID"));
  expect(JSON.stringify(body)).not.toMatch(/\bat .+\.(ts|js):\d+/); // never a stack trace
  return body;
}
