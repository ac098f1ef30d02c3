// A resumable CSV larger than INGEST_SEGMENT_BYTES (1 MiB in the test config) is profiled in segments, a queue message
// each: its dataset has the profile, sha256, row count and reject report of the same bytes uploaded directly (one pass),
// records that run across a segment's end (quoted newlines) included, and messages delivered twice change nothing.
// Profiles are compared once both stores made the estimated figures exact (every other figure is the profiler's):
// test/services/datasets/profile/segments.test.ts shows the estimates themselves are the same too.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { createDb } from "../../../src/db/client.ts";
import { resumableUploads } from "../../../src/db/schema.ts";
import worker from "../../../src/index.ts";
import { dataOf, readSse } from "../../support/analysis.ts";
import { getDataset, newProject, settled } from "../../support/dataset-loads.ts";
import { eventually } from "../../support/eventually.ts";
import { BASE, call, checkedFetch, json, person, randomIp, type Person } from "../../support/harness.ts";

const encoder = new TextEncoder();
const db = () => createDb(env);
const SEGMENT = Number(env.INGEST_SEGMENT_BYTES);

interface Dataset {
  id: string;
  sha256: string;
  rowCount: number;
  version: number;
  rejectedCount: number;
  profile: unknown;
}

/** About `bytes` of CSV whose every row has a quoted cell with a newline (so segment ends fall inside records), and ragged rows when asked. */
function csv(bytes: number, { ragged = false, raggedAt = 0 } = {}): Uint8Array {
  const lines = ["id,note,amount,tag"];
  let size = 0;
  for (let i = 1; size < bytes; i++) {
    const line = `${i},"row ${i}, line one\nline ""two""",${((i * 7919) % 100_003) / 100},${i % 7 === 0 ? "" : `t${i % 311}`}${(ragged && i % 997 === 0) || i === raggedAt ? ",extra" : ""}`;
    lines.push(line);
    size += line.length + 1;
  }
  return encoder.encode(`\uFEFF${lines.join("\n")}\n`);
}

const metadataOf = (extra: Record<string, string> = {}) =>
  Object.entries({ filename: "big.csv", filetype: "text/csv", ...extra })
    .map(([key, value]) => `${key} ${btoa(value)}`)
    .join(",");

/** The file through tus: created, then one PATCH; returns the upload's id and reserved dataset id. */
async function resumable(who: Person, projectId: string, file: Uint8Array, metadata = metadataOf()) {
  const headers = { Authorization: `Bearer ${who.token}`, "Tus-Resumable": "1.0.0", "CF-Connecting-IP": randomIp() };
  const created = await checkedFetch(`${BASE}/api/v1/projects/${projectId}/uploads`, {
    method: "POST",
    headers: { ...headers, "Upload-Length": String(file.length), "Upload-Metadata": metadata },
  });
  const upload = await json<{ id: string; datasetId: string }>(created, 201);
  const patched = await checkedFetch(`${BASE}/api/v1/uploads/${upload.id}`, {
    method: "PATCH",
    headers: { ...headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream" },
    body: file,
  });
  expect(patched.status).toBe(204);
  return upload;
}

async function ready(who: Person, upload: { id: string; datasetId: string }) {
  const done = await eventually(
    async () => json<{ status: string; error: string | null }>(await call(`/api/v1/uploads/${upload.id}`, { token: who.token }), 200),
    (s) => s.status === "ready" || s.status === "failed",
  );
  expect(done.status, done.error ?? "").toBe("ready");
  return exact(who, upload.datasetId);
}

interface Approximate {
  approximate?: { distinct: boolean; quantiles: boolean };
}

/** The dataset once its store is ready and the store's exact figures replaced the profile's estimates (which follows the load). */
async function exact(who: Person, id: string) {
  await settled(who, id);
  return eventually(
    async () => json<Dataset>(await call(`/api/v1/datasets/${id}`, { token: who.token }), 200),
    (dataset) =>
      (dataset.profile as { columns: Approximate[] }).columns.every((c) => !c.approximate?.distinct && !c.approximate?.quantiles),
  );
}

async function direct(who: Person, file: Uint8Array, query = "") {
  const projectId = await newProject(who, "Direct");
  const response = await checkedFetch(`${BASE}/api/v1/projects/${projectId}/datasets?name=big${query}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "Content-Type": "text/csv", "CF-Connecting-IP": randomIp() },
    body: file,
  });
  // Read once its store made the estimates exact, as the resumable one is.
  return exact(who, (await json<Dataset>(response, 201)).id);
}

const rejectsOf = async (who: Person, id: string) =>
  (await json<{ data: unknown[] }>(await call(`/api/v1/datasets/${id}/rejects?limit=100`, { token: who.token }), 200)).data;

/** Delivers ingest messages to the consumer directly, as a queue redelivering them would. */
async function deliver(bodies: unknown[]) {
  const batch = createMessageBatch(
    "datacrafted-dataset-ingest",
    bodies.map((body, i) => ({ id: `ingest-${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("a resumable CSV profiled in segments", () => {
  it("has the profile, sha256 and row count of the same bytes uploaded directly; its checkpoint is gone after", async () => {
    const owner = await person("segments-owner");
    const file = csv(3.5 * SEGMENT);
    expect(file.length).toBeGreaterThan(3 * SEGMENT);
    const upload = await resumable(owner, await newProject(owner, "Segmented"), file);
    const [segmented, whole] = await Promise.all([ready(owner, upload), direct(owner, file)]);
    expect(segmented.sha256).toBe(whole.sha256);
    expect(segmented.rowCount).toBe(whole.rowCount);
    expect(segmented.profile).toEqual(whole.profile);
    expect(await env.DATASETS.head(`checkpoints/${upload.id}`)).toBeNull();

    // Progress across the segments: each one's end is an event (one pass would send a throttled one or two), rising to the whole file.
    const stream = await checkedFetch(`${BASE}/api/v1/datasets/${upload.datasetId}/events`, {
      headers: { Authorization: `Bearer ${owner.token}`, "CF-Connecting-IP": randomIp() },
    });
    const { events } = await readSse(stream, (seen) => seen.some((e) => e.event === "ready"));
    const profiling = events
      .filter((e) => e.event === "progress" && dataOf(e).phase === "profiling")
      .map((e) => dataOf<{ bytesDone: number; rowsDone: number }>(e));
    const ends = [...new Set(profiling.map((p) => p.bytesDone))];
    expect(ends.length).toBeGreaterThanOrEqual(4);
    expect(ends).toEqual([...ends].sort((a, b) => a - b));
    expect(profiling.at(-1)).toEqual(expect.objectContaining({ bytesDone: file.length, rowsDone: whole.rowCount }));
  });

  it("under onError=skip, rejects rows in every segment as one pass does (row numbers carried on)", async () => {
    const owner = await person("segments-skip");
    const file = csv(2.5 * SEGMENT, { ragged: true });
    const upload = await resumable(owner, await newProject(owner, "Skip"), file, metadataOf({ onError: "skip" }));
    const [segmented, whole] = await Promise.all([ready(owner, upload), direct(owner, file, "&onError=skip")]);
    expect(whole.rejectedCount).toBeGreaterThan(10);
    expect(segmented).toMatchObject({ rowCount: whole.rowCount, rejectedCount: whole.rejectedCount, sha256: whole.sha256 });
    expect(segmented.profile).toEqual(whole.profile);
    expect(await rejectsOf(owner, segmented.id)).toEqual(await rejectsOf(owner, whole.id));
  });

  it("a ragged row in a later segment fails the upload with its row number, and leaves neither object nor checkpoint", async () => {
    const owner = await person("segments-ragged");
    const projectId = await newProject(owner, "Ragged");
    // Rows are about 60 bytes: id 42,000 is past 2 MiB, in the third segment.
    const file = csv(2.5 * SEGMENT, { raggedAt: 42_000 });
    expect(new TextDecoder().decode(file).indexOf("\n42000,")).toBeGreaterThan(2 * SEGMENT);
    const upload = await resumable(owner, projectId, file);
    const done = await eventually(
      async () => json<{ status: string; error: string | null }>(await call(`/api/v1/uploads/${upload.id}`, { token: owner.token }), 200),
      (s) => s.status === "ready" || s.status === "failed",
    );
    expect(done.status).toBe("failed");
    // Row numbers count records, the header first, across segments.
    expect(done.error).toContain("row 42001 has 5 columns where the first has 4");
    const [row] = await db().select().from(resumableUploads).where(eq(resumableUploads.id, upload.id));
    expect(await env.DATASETS.head(`checkpoints/${upload.id}`)).toBeNull();
    expect(await env.DATASETS.head(row!.r2Key)).toBeNull();
  });

  it("messages delivered twice (the first, a segment's, and after the end) leave one correct dataset version", async () => {
    const owner = await person("segments-redelivered");
    const projectId = await newProject(owner, "Redelivered");
    const file = csv(3 * SEGMENT);
    const upload = await resumable(owner, projectId, file);
    // Copies of the first message and of the first segment's, racing the queue's own.
    const copies = await deliver([{ uploadId: upload.id }, { uploadId: upload.id, fromByte: 0 }, { uploadId: upload.id, fromByte: 0 }]);
    expect(copies.explicitAcks).toHaveLength(3);
    const [segmented, whole] = await Promise.all([ready(owner, upload), direct(owner, file)]);
    expect(segmented).toMatchObject({ version: 1, rowCount: whole.rowCount, sha256: whole.sha256 });
    expect(segmented.profile).toEqual(whole.profile);
    // After the end: acked, and nothing changes.
    const late = await deliver([{ uploadId: upload.id, fromByte: 0 }, { uploadId: upload.id }]);
    expect(late.explicitAcks).toHaveLength(2);
    const listed = await json<{ data: { id: string }[] }>(
      await call(`/api/v1/projects/${projectId}/datasets`, { token: owner.token }),
      200,
    );
    expect(listed.data.map((d) => d.id)).toEqual([upload.datasetId]);
    expect(await getDataset(owner, upload.datasetId)).toMatchObject({ version: 1, rowCount: whole.rowCount });
  });
});
