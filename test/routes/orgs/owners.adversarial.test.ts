// The last-owner rule under concurrency (issue 14, item 7): two owners stepping down at once leave one owner, never none.
import { describe, expect, it } from "vitest";
import { addMember, call, json, person, team, type Person } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

/** Enough rounds that the race showed on real Postgres before the fix (it lost an owner in about one run of four). */
const ROUNDS = 8;
/** Rounds of real requests on a shared, busy machine: a generous bound, not a speed goal. */
const BOUND = { timeout: 180_000 };

async function twoOwners(label: string): Promise<{ a: Person; b: Person; slug: string }> {
  const [a, b] = [await person(`${label}-a`), await person(`${label}-b`)];
  const slug = await team(a, `Owners ${label}`);
  await addMember(a, slug, b, "owner");
  return { a, b, slug };
}

async function owners(who: Person, slug: string): Promise<string[]> {
  const page = await json<{ data: { userId: string; role: string }[] }>(
    await call(`/api/v1/orgs/${slug}/members?limit=100`, { token: who.token }),
    200,
  );
  return page.data.filter((member) => member.role === "owner").map((member) => member.userId);
}

const demote = (by: Person, slug: string, target: Person) =>
  call(`/api/v1/orgs/${slug}/members/${target.userId}`, { method: "PATCH", token: by.token, body: { role: "admin" } });
const remove = (by: Person, slug: string, target: Person) =>
  call(`/api/v1/orgs/${slug}/members/${target.userId}`, { method: "DELETE", token: by.token });

/**
 * One request won and the other was refused: 409 LAST_OWNER when it reached the guarded statement, or, when the
 * winner had already committed before the loser read its own membership, 403 (demoted: it may no longer touch an
 * owner) or 404 (removed: the organization is no longer its to see).
 */
async function expectOneWinner(responses: Response[], okStatus: number) {
  const won = responses.filter((response) => response.status === okStatus);
  expect(
    responses.map((response) => response.status),
    "exactly one of the two may succeed",
  ).toContain(okStatus);
  expect(won).toHaveLength(1);
  const refused = responses.find((response) => response.status !== okStatus)!;
  if (refused.status === 403) await expectProblem(refused, 403, "FORBIDDEN");
  else if (refused.status === 404) await expectProblem(refused, 404, "NOT_FOUND");
  else await expectProblem(refused, 409, "LAST_OWNER");
}

describe("two owners at once", () => {
  it("demoting each other: one wins, the other is 409 LAST_OWNER, one owner remains", BOUND, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { a, b, slug } = await twoOwners(`demote-${round}`);
      const responses = await Promise.all([demote(a, slug, b), demote(b, slug, a)]);
      await expectOneWinner(responses, 200);
      // Whoever was demoted is now an admin and can still read the members.
      expect(await owners(a, slug)).toHaveLength(1);
    }
  });

  it("removing each other: one wins, one owner remains", BOUND, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { a, b, slug } = await twoOwners(`remove-${round}`);
      const responses = await Promise.all([remove(a, slug, b), remove(b, slug, a)]);
      await expectOneWinner(responses, 204);
      const survivor = responses[0]!.status === 204 ? a : b;
      expect(await owners(survivor, slug)).toEqual([survivor.userId]);
    }
  });

  it("both leaving at once: one leaves, the other stays as the owner", BOUND, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { a, b, slug } = await twoOwners(`leave-${round}`);
      const responses = await Promise.all([remove(a, slug, a), remove(b, slug, b)]);
      await expectOneWinner(responses, 204);
      const stayer = responses[0]!.status === 204 ? b : a;
      expect(await owners(stayer, slug)).toEqual([stayer.userId]);
    }
  });

  it("one leaving while demoting the other: one owner remains", BOUND, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { a, b, slug } = await twoOwners(`mixed-${round}`);
      const [left, demoted] = await Promise.all([remove(a, slug, a), demote(b, slug, b)]);
      expect([left.status, demoted.status].filter((status) => status >= 400)).toHaveLength(1);
      const member = left.status === 204 ? b : a;
      expect(await owners(member, slug)).toHaveLength(1);
    }
  });

  it("both deleting their accounts at once: one account goes, the other stays the owner of the members left", BOUND, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { a, b, slug } = await twoOwners(`delete-${round}`);
      // A third member: alone in the organization, the last owner would take it along instead (and rightly answer 204).
      const c = await person(`delete-${round}-c`);
      await addMember(a, slug, c, "member");
      const responses = await Promise.all([a, b].map((who) => call("/api/v1/me", { method: "DELETE", token: who.token })));
      await expectOneWinner(responses, 204);
      const stayer = responses[0]!.status === 204 ? b : a;
      expect(await owners(c, slug)).toEqual([stayer.userId]);
    }
  });

  it("still lets an owner step down while another owner stays", async () => {
    const { a, b, slug } = await twoOwners("sequential");
    await json(await demote(a, slug, a), 200);
    expect(await owners(b, slug)).toEqual([b.userId]);
    await expectProblem(await demote(b, slug, b), 409, "LAST_OWNER");
    await expectProblem(await remove(b, slug, b), 409, "LAST_OWNER");
  });
});
