// A consumer of the API through Hono's own typed client (hono/client): the calls a script makes first.
import { hc } from "hono/client";
import type { AppType } from "../../src/app-type.ts";

export async function honoTour(origin: string, fetch: typeof globalThis.fetch, credentials: { email: string; password: string }) {
  const client = hc<AppType>(origin, { fetch });
  const signIn = await client.api.v1.auth.signin.$post({ json: credentials });
  if (signIn.status !== 200) throw new Error(`sign-in answered ${signIn.status}`);
  const signedIn = await signIn.json();
  // An account with a second factor answers a challenge instead (POST /auth/mfa); this tour's account has none.
  if (!("accessToken" in signedIn)) throw new Error("sign-in asked for a second factor");
  const { accessToken } = signedIn;
  const headers = { Authorization: `Bearer ${accessToken}` };
  const created = await client.api.v1.projects.$post({ json: { name: "Typed with hc" } }, { headers });
  if (created.status !== 201) throw new Error(`create project answered ${created.status}`);
  const project = await created.json();
  const read = await client.api.v1.projects[":id"].$get({ param: { id: project.id } }, { headers });
  if (read.status !== 200) throw new Error(`get project answered ${read.status}`);
  const again = await read.json();
  const list = await client.api.v1.projects.$get({ query: { limit: "5" } }, { headers });
  if (list.status !== 200) throw new Error(`list projects answered ${list.status}`);
  const page = await list.json();
  const health = await client.health.$get();
  return {
    name: again.name,
    createdAt: again.createdAt,
    listed: page.data.map((p) => p.id),
    nextCursor: page.nextCursor,
    health: health.status,
  };
}
