// The resumable upload in the bench: a generated CSV sent by tus-js-client in 64 MiB chunks to the heap-capped Worker,
// then profiled by the ingest job and loaded into its store. Time to upload, time to ready, and the runtime's peak heap.
import { createWriteStream, existsSync, createReadStream, statSync } from "node:fs";
import { once } from "node:events";
import * as tus from "tus-js-client";

export interface TusBenchOptions {
  url: string;
  token: string;
  projectId: string;
  /** Where the generated file is kept between runs. */
  path: string;
  megabytes: number;
  chunkMiB?: number;
  /** Peak heap (MB used) in the runtime's GC trace since `mark()` was taken. */
  heapSince: () => () => number;
}

/** The bench's 50 MB columns, row after row until the file has `megabytes` MB (written a block at a time, never held whole). */
async function generate(path: string, megabytes: number) {
  if (existsSync(path) && statSync(path).size >= megabytes * 1_000_000) return;
  const out = createWriteStream(path);
  const regions = ["North", "South", "East", "West", "Central"];
  let bytes = 0;
  let i = 1;
  out.write("id,day,region,product,qty,price,discount,paid,rating,note\n");
  while (bytes < megabytes * 1_000_000) {
    const lines: string[] = [];
    for (let n = 0; n < 10_000; n++, i++)
      lines.push(
        `${i},2026-${String((i % 12) + 1).padStart(2, "0")}-${String((i % 28) + 1).padStart(2, "0")},${regions[i % 5]},P${i % 97},${i % 50},${((i * 7) % 10000) / 100},${(i % 30) / 100},${i % 3 === 0},${(i % 5) + 1},"n ${i % 1000}"\n`,
      );
    const block = lines.join("");
    bytes += block.length;
    if (!out.write(block)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

export async function measureTus({ url, token, projectId, path, megabytes, chunkMiB = 64, heapSince }: TusBenchOptions) {
  await generate(path, megabytes);
  const size = statSync(path).size;
  const headers = { authorization: `Bearer ${token}` };
  const heap = heapSince();
  const started = performance.now();
  const uploadUrl = await new Promise<string>((resolve, reject) => {
    const upload = new tus.Upload(createReadStream(path), {
      endpoint: `${url}/api/v1/projects/${projectId}/uploads`,
      uploadSize: size,
      chunkSize: chunkMiB * 1024 * 1024,
      retryDelays: [0, 1000, 3000],
      headers,
      metadata: { filename: "bench-tus.csv", filetype: "text/csv" },
      onError: reject,
      onSuccess: () => resolve(upload.url!),
    });
    upload.start();
  });
  const uploaded = performance.now();
  console.log(`[bench] tus: ${Math.round(size / 1_000_000)} MB uploaded in ${Math.round(uploaded - started) / 1000} s`);
  const uploadId = new URL(uploadUrl).pathname.split("/").at(-1)!;
  const poll = async <T>(path: string, done: (body: T) => boolean, timeoutMs = 1_800_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Locally the load shares the runtime with the API: a poll may wait long for its answer, or time out (then ask again).
      const body = (await fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(60_000) })
        .then((response) => response.json())
        .catch(() => undefined)) as T | undefined;
      if ((body && done(body)) || Date.now() > deadline) return body as T;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  const state = await poll<{ status: string; datasetId: string; error: string | null }>(
    `/api/v1/uploads/${uploadId}`,
    (s) => s.status === "ready" || s.status === "failed",
  );
  const saved = performance.now();
  const dataset =
    state.status === "ready"
      ? await poll<{ rowCount: number; query?: { status: string; error: string | null } }>(
          `/api/v1/datasets/${state.datasetId}`,
          (d) => d.query?.status === "ready" || d.query?.status === "failed", // a problem (a busy runtime's 503) has no query
        )
      : null;
  const ready = performance.now();
  const queried = dataset?.query?.status === "ready" ? await queryCheck(url, token, state.datasetId, path) : null;
  const mb = size / 1_000_000;
  const seconds = (from: number, to: number) => Math.round((to - from) / 10) / 100;
  return {
    fileMB: Math.round(mb),
    chunkMiB,
    status: dataset?.query?.status ?? state.status,
    error: state.error ?? dataset?.query?.error ?? null,
    rows: dataset?.rowCount ?? null,
    uploadSeconds: seconds(started, uploaded),
    uploadMBps: Math.round((mb / ((uploaded - started) / 1000)) * 10) / 10,
    /** From the last byte to the dataset saved (profiled) and to its store ready (every row loaded). */
    profiledSeconds: seconds(uploaded, saved),
    readySeconds: seconds(uploaded, ready),
    /** Upload, profile and load together, per MB: compare with the direct path's upload + load per MB. */
    totalSecondsPerMB: Math.round(((ready - started) / 1000 / mb) * 1000) / 1000,
    heapPeakUsedMB: heap(),
    /** The store answers for every row: COUNT(*) and SUM(qty) over it equal the file's, counted here in Node. */
    queried,
  };
}

/** Rows and the sum of `qty` (row i holds i % 50) as the file has them, beside the store's answer to one query. */
async function queryCheck(url: string, token: string, datasetId: string, path: string) {
  let newlines = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) newlines++;
  }
  const fileRows = newlines - 1; // the header; no cell of the generated file holds a line break
  const cycles = Math.floor(fileRows / 50);
  const rest = fileRows % 50;
  const fileQtySum = cycles * 1_225 + (rest * (rest + 1)) / 2;
  const response = await fetch(`${url}/api/v1/datasets/${datasetId}/query`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ sql: "SELECT COUNT(*) AS n, SUM(qty) AS qty FROM dataset" }),
  });
  const answer = (await response.json()) as { rows?: [number, number][] };
  const [storeRows, storeQtySum] = answer.rows?.[0] ?? [null, null];
  return {
    status: response.status,
    fileRows,
    storeRows,
    fileQtySum,
    storeQtySum,
    matches: storeRows === fileRows && storeQtySum === fileQtySum,
  };
}
