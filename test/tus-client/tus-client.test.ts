// A client nobody here wrote: tus-js-client (Node) uploads a CSV to a running Worker in chunks, through a proxy that drops
// the connection mid-chunk once; the client asks HEAD for the offset, resumes, and the file becomes a queryable dataset.
import { createHash } from "node:crypto";
import { createServer, Socket } from "node:net";
import * as tus from "tus-js-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { eventually } from "../support/eventually.ts";

const MiB = 1024 * 1024;

/** Forwards TCP to the Worker; after `cutAfter` bytes from the client it drops that connection (once), mid-request. */
function cuttingProxy(target: URL, cutAfter: number) {
  let forwarded = 0;
  let cut = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    upstream.connect(Number(target.port), target.hostname);
    client.on("data", (data: Buffer) => {
      forwarded += data.length;
      if (!cut && forwarded > cutAfter) {
        cut = true;
        // Half a chunk arrived: the connection breaks as a flaky network breaks it.
        upstream.write(data.subarray(0, Math.floor(data.length / 2)), () => {
          client.destroy();
          upstream.destroy();
        });
        return;
      }
      upstream.write(data);
    });
    upstream.on("data", (data: Buffer) => client.write(data));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  });
  return {
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)),
      ),
    wasCut: () => cut,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A CSV of `rows` rows whose values are known here. */
function csv(rows: number): Buffer {
  const lines = ["n,city,amount"];
  for (let i = 1; i <= rows; i++) lines.push(`${i},city-${i % 97},${(i * 7) % 1000}.25`);
  return Buffer.from(`${lines.join("\n")}\n`);
}

let base: string;
let token: string;
let proxy: ReturnType<typeof cuttingProxy>;

async function api<T>(path: string, init: RequestInit = {}, status = 200): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}), ...init.headers },
  });
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

beforeAll(async () => {
  base = inject("tusWorkerUrl");
  const email = `tus-${Date.now()}@example.com`;
  const password = `pw-${crypto.randomUUID()}`;
  await api("/api/v1/auth/signup", { method: "POST", body: JSON.stringify({ email, password }) }, 202);
  token = (await api<{ accessToken: string }>("/api/v1/auth/signin", { method: "POST", body: JSON.stringify({ email, password }) }))
    .accessToken;
});

afterAll(async () => {
  await proxy?.close();
});

describe("tus-js-client against the Worker", () => {
  it("uploads in chunks, resumes after a connection dropped mid-chunk, and the file becomes a dataset", async () => {
    const project = await api<{ id: string }>("/api/v1/projects", { method: "POST", body: JSON.stringify({ name: "tus client" }) }, 201);
    const file = csv(700_000); // about 15 MB: two 6 MiB chunks and a short one
    const sha256 = createHash("sha256").update(file).digest("hex");
    proxy = cuttingProxy(new URL(base), 9 * MiB); // in the middle of the second chunk
    const through = await proxy.listen();

    const offsetsAfterHead: number[] = [];
    const uploadUrl = await new Promise<string>((resolve, reject) => {
      const upload = new tus.Upload(file, {
        endpoint: `${through}/api/v1/projects/${project.id}/uploads`,
        chunkSize: 6 * MiB,
        retryDelays: [0, 200, 500, 1000, 2000],
        headers: { Authorization: `Bearer ${token}` },
        metadata: { filename: "cities.csv", filetype: "text/csv" },
        onAfterResponse: (request, response) => {
          if (request.getMethod() === "HEAD") offsetsAfterHead.push(Number(response.getHeader("Upload-Offset")));
        },
        onError: reject,
        onSuccess: () => resolve(upload.url!),
      });
      upload.start();
    });

    expect(proxy.wasCut()).toBe(true);
    // The client asked where to resume, and the server had kept the bytes of the first chunk at least.
    expect(offsetsAfterHead.length).toBeGreaterThan(0);
    expect(offsetsAfterHead[0]).toBeGreaterThanOrEqual(6 * MiB);
    const uploadId = new URL(uploadUrl).pathname.split("/").at(-1)!;
    const done = await eventually(
      () => api<{ status: string; datasetId: string; error: string | null }>(`/api/v1/uploads/${uploadId}`),
      (state) => state.status === "ready" || state.status === "failed",
    );
    expect(done.status, done.error ?? "").toBe("ready");
    const dataset = await eventually(
      () => api<{ sha256: string; rowCount: number; sizeBytes: number; query: { status: string } }>(`/api/v1/datasets/${done.datasetId}`),
      (d) => d.query.status === "ready" || d.query.status === "failed",
    );
    expect(dataset).toMatchObject({ sha256, rowCount: 700_000, sizeBytes: file.length, query: { status: "ready" } });
    const sum = await api<{ rows: unknown[][] }>(`/api/v1/datasets/${done.datasetId}/query`, {
      method: "POST",
      body: JSON.stringify({ sql: "SELECT count(*) AS n, sum(n) AS total FROM dataset" }),
    });
    expect(sum.rows[0]).toEqual([700_000, (700_000 * 700_001) / 2]);
  });
});
