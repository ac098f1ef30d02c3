// tus 1.0 through the Worker with fetch: creation (with its first chunk), PATCH across R2 part boundaries, HEAD after each
// chunk, termination, expiration and the cron's abort, the ingest job's dataset and its event stream, and every refusal
// (wrong offset, past the length, wrong media type or version, another tenant, a viewer) leaving nothing behind.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { parquetWriteBuffer } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { resumableUploads } from "../../../src/db/schema.ts";
import worker from "../../../src/index.ts";
import { PART_BYTES } from "../../../src/services/uploads/append.ts";
import { dataOf, readSse } from "../../support/analysis.ts";
import { newProject, settled } from "../../support/dataset-loads.ts";
import { eventually } from "../../support/eventually.ts";
import { addMember, BASE, call, checkedFetch, json, person, randomIp, type Person, team } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

const db = () => createDb(env);
const encoder = new TextEncoder();
const b64 = (text: string) => btoa(text);

interface UploadState {
  id: string;
  datasetId: string;
  offset: number;
  length: number;
  status: string;
  error: string | null;
}

/** A CSV of `rows` rows whose values are known here (n is 1…rows). */
function csv(rows: number, tag = crypto.randomUUID()): Uint8Array {
  return encoder.encode(
    `n,tag,note\n${Array.from({ length: rows }, (_, i) => `${i + 1},${tag},row number ${i + 1} of the file`).join("\n")}\n`,
  );
}

const tus = (who: Person, headers: Record<string, string> = {}) => ({
  Authorization: `Bearer ${who.token}`,
  "Tus-Resumable": "1.0.0",
  "CF-Connecting-IP": randomIp(),
  ...headers,
});

async function create(
  who: Person,
  projectId: string,
  length: number,
  {
    metadata = `filename ${b64("sales.csv")},filetype ${b64("text/csv")}`,
    body,
    headers = {},
  }: { metadata?: string; body?: Uint8Array; headers?: Record<string, string> } = {},
) {
  return checkedFetch(`${BASE}/api/v1/projects/${projectId}/uploads`, {
    method: "POST",
    headers: tus(who, {
      "Upload-Length": String(length),
      "Upload-Metadata": metadata,
      ...(body ? { "Content-Type": "application/offset+octet-stream" } : {}),
      ...headers,
    }),
    body,
  });
}

const patch = (who: Person, id: string, offset: number, body: BodyInit, headers: Record<string, string> = {}) =>
  checkedFetch(`${BASE}/api/v1/uploads/${id}`, {
    method: "PATCH",
    headers: tus(who, { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream", ...headers }),
    body,
  });

const head = (who: Person, id: string) => checkedFetch(`${BASE}/api/v1/uploads/${id}`, { method: "HEAD", headers: tus(who) });
const state = async (who: Person, id: string) => json<UploadState>(await call(`/api/v1/uploads/${id}`, { token: who.token }), 200);

/** Every R2 object the upload has besides the dataset's file (its tails). */
const tails = async (uploadId: string) => (await env.DATASETS.list({ prefix: "uploads/" })).objects.filter((o) => o.key.includes(uploadId));
const sha256 = async (bytes: Uint8Array) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

async function started(who: Person, projectId: string, file: Uint8Array) {
  const response = await create(who, projectId, file.length);
  const body = await json<UploadState>(response, 201);
  expect(response.headers.get("Location")).toBe(`/api/v1/uploads/${body.id}`);
  return body;
}

describe("tus capabilities", () => {
  it("OPTIONS answers Tus-Version, Tus-Extension and Tus-Max-Size", async () => {
    const response = await worker.fetch(
      new Request(`${BASE}/api/v1/uploads/${crypto.randomUUID()}`, { method: "OPTIONS" }),
      env,
      createExecutionContext(),
    );
    expect(response.status).toBe(204);
    expect(response.headers.get("Tus-Version")).toBe("1.0.0");
    expect(response.headers.get("Tus-Extension")).toBe("creation,creation-with-upload,termination,expiration");
    expect(Number(response.headers.get("Tus-Max-Size"))).toBe(5 * 1024 * 1024 * 1024);
  });
});

describe("a resumable upload from first byte to dataset", () => {
  it("takes a first chunk with creation, chunks across part boundaries, and becomes a dataset with events", async () => {
    const owner = await person("tus-owner");
    const projectId = await newProject(owner, "Resumable");
    const file = csv(260_000); // about 12 MB: three R2 parts, the last one short
    expect(file.length).toBeGreaterThan(2 * PART_BYTES);
    const first = 3 * 1024 * 1024; // less than a part: it waits in the tail
    const created = await create(owner, projectId, file.length, { body: file.slice(0, first) });
    const upload = await json<UploadState>(created, 201);
    expect(created.headers.get("Upload-Offset")).toBe(String(first));
    expect(created.headers.get("Upload-Expires")).toMatch(/GMT$/);
    expect(await tails(upload.id)).toHaveLength(1);

    // A chunk that completes the first part and leaves a new tail (R2 parts are cut from the tail and the chunk).
    const second = first + 4 * 1024 * 1024;
    const appended = await patch(owner, upload.id, first, file.slice(first, second));
    expect(appended.status).toBe(204);
    expect(appended.headers.get("Upload-Offset")).toBe(String(second));
    const probed = await head(owner, upload.id);
    expect(probed.status).toBe(200);
    expect(probed.headers.get("Upload-Offset")).toBe(String(second));
    expect(probed.headers.get("Upload-Length")).toBe(String(file.length));
    expect(probed.headers.get("Cache-Control")).toBe("no-store");
    const [row] = await db().select().from(resumableUploads).where(eq(resumableUploads.id, upload.id));
    expect(row!.parts).toHaveLength(1);
    expect(row!.tailBytes).toBe(second - PART_BYTES);
    expect((await tails(upload.id)).map((o) => o.size)).toEqual([second - PART_BYTES]);

    // The rest in one go: the last part, the object completed, the tail removed, the job queued.
    const last = await patch(owner, upload.id, second, file.slice(second));
    expect(last.status).toBe(204);
    expect(last.headers.get("Upload-Offset")).toBe(String(file.length));
    expect(await tails(upload.id)).toHaveLength(0);

    const done = await eventually(
      () => state(owner, upload.id),
      (s) => s.status === "ready" || s.status === "failed",
    );
    expect(done.status, done.error ?? "").toBe("ready");
    expect(done.datasetId).toBe(upload.datasetId);
    const dataset = await settled(owner, upload.datasetId);
    expect(dataset.rowCount).toBe(260_000);
    expect(dataset.sha256).toBe(await sha256(file));
    expect(dataset.query.status).toBe("ready");
    const stored = await env.DATASETS.get(
      `datasets/${(await db().select().from(resumableUploads).where(eq(resumableUploads.id, upload.id)))[0]!.orgId}/${projectId}/${upload.datasetId}`,
    );
    expect(stored?.size).toBe(file.length);
    await stored?.body.cancel();

    // The event log: profiling progress in bytes, the saved version, loading progress in rows, ready; and a resume.
    const stream = await checkedFetch(`${BASE}/api/v1/datasets/${upload.datasetId}/events`, { headers: tus(owner) });
    expect(stream.status).toBe(200);
    const { events } = await readSse(stream, (seen) => seen.some((e) => e.event === "ready"));
    const types = events.map((e) => e.event);
    expect(types).toContain("saved");
    expect(types.indexOf("ready")).toBeGreaterThan(types.indexOf("saved"));
    const profiling = events
      .filter((e) => e.event === "progress" && dataOf(e).phase === "profiling")
      .map((e) => dataOf<{ bytesDone: number; rowsDone: number }>(e));
    expect(profiling.at(-1)).toMatchObject({ bytesDone: file.length, rowsDone: 260_000 });
    expect(dataOf(events.find((e) => e.event === "saved")!)).toMatchObject({ datasetId: upload.datasetId, rowCount: 260_000 });
    const savedId = events.find((e) => e.event === "saved")!.id!;
    const resumed = await readSse(
      await checkedFetch(`${BASE}/api/v1/datasets/${upload.datasetId}/events`, { headers: tus(owner, { "Last-Event-ID": savedId }) }),
      (seen) => seen.some((e) => e.event === "ready"),
    );
    expect(resumed.events[0]!.event).not.toBe("saved");
    expect(resumed.events.every((e) => Number(e.id) > Number(savedId))).toBe(true);

    // A finished upload takes no more bytes and cannot be terminated.
    await expectProblem(await patch(owner, upload.id, file.length, new Uint8Array([1])), 409, "CONFLICT");
  });

  it("takes a Parquet file, read by range from the finished object, into a queryable dataset", async () => {
    const owner = await person("tus-parquet");
    const projectId = await newProject(owner, "Resumable Parquet");
    const rows = 20_000;
    const file = new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: "id", data: Array.from({ length: rows }, (_, i) => i + 1), type: "INT32" },
          { name: "region", data: Array.from({ length: rows }, (_, i) => ["North", "South"][i % 2]!), type: "STRING" },
          { name: "amount", data: Array.from({ length: rows }, (_, i) => i * 0.5), type: "DOUBLE" },
        ],
      }),
    );
    const metadata = `filename ${b64("sales.parquet")},filetype ${b64("application/vnd.apache.parquet")}`;
    const upload = await json<UploadState>(await create(owner, projectId, file.length, { metadata, body: file }), 201);
    const done = await eventually(
      () => state(owner, upload.id),
      (s) => s.status === "ready" || s.status === "failed",
    );
    expect(done.status, done.error ?? "").toBe("ready");
    const dataset = await settled(owner, upload.datasetId);
    expect(dataset).toMatchObject({ format: "parquet", rowCount: rows, sha256: await sha256(file) });
    expect(dataset.query.status).toBe("ready");
    const answer = await json<{ rows: unknown[][] }>(
      await call(`/api/v1/datasets/${upload.datasetId}/query`, {
        method: "POST",
        token: owner.token,
        body: { sql: "SELECT region, count(*), sum(amount) FROM dataset GROUP BY region ORDER BY region" },
      }),
      200,
    );
    // amounts are i/2 for i = 0…19,999: the even i (North) sum to 99,990,000 / 2, the odd (South) to 100,000,000 / 2.
    expect(answer.rows).toEqual([
      ["North", 10_000, 49_995_000],
      ["South", 10_000, 50_000_000],
    ]);
  });

  it("a file that cannot be a dataset fails its upload and leaves nothing in R2", async () => {
    const owner = await person("tus-bad");
    const projectId = await newProject(owner);
    const file = encoder.encode("a,b\n1,2\n\u0000\u0000binary\n");
    const upload = await json<UploadState>(await create(owner, projectId, file.length, { body: file }), 201);
    const failed = await eventually(
      () => state(owner, upload.id),
      (s) => s.status !== "processing",
    );
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/binary/i);
    expect((await env.DATASETS.list({ prefix: `datasets/` })).objects.filter((o) => o.key.includes(upload.datasetId))).toHaveLength(0);
    // The reserved id says why there is no dataset (test/routes/uploads/uploads.pending-dataset.test.ts has the rest).
    const pending = await json<{ status: string; error: string }>(
      await call(`/api/v1/datasets/${upload.datasetId}`, { token: owner.token }),
      200,
    );
    expect(pending).toMatchObject({ status: "failed", error: failed.error });
  });
});

describe("tus refusals", () => {
  it("a wrong offset is 409 with the real one, past the length 413, a wrong media type 415, a wrong version 412", async () => {
    const owner = await person("tus-refuse");
    const projectId = await newProject(owner);
    const file = csv(1_000);
    const upload = await started(owner, projectId, file);
    expect((await patch(owner, upload.id, 0, file.slice(0, 100))).status).toBe(204);

    const wrong = await patch(owner, upload.id, 50, file.slice(50, 200));
    await expectProblem(wrong, 409, "UPLOAD_OFFSET_MISMATCH");
    expect(wrong.headers.get("Upload-Offset")).toBe("100");
    await expectProblem(await patch(owner, upload.id, 100, new Uint8Array(file.length)), 413, "UPLOAD_TOO_LARGE");
    await expectProblem(
      await patch(owner, upload.id, 100, file.slice(100, 200), { "Content-Type": "text/csv" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    const version = await patch(owner, upload.id, 100, file.slice(100, 200), { "Tus-Resumable": "0.2.2" });
    await expectProblem(version, 412, "PRECONDITION_FAILED");
    expect(version.headers.get("Tus-Version")).toBe("1.0.0");
    // A body without Content-Length that runs past the length is cut off there, and none of it is kept.
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(file.slice(100));
        controller.enqueue(new Uint8Array(10));
        controller.close();
      },
    });
    await expectProblem(await patch(owner, upload.id, 100, streamed), 413, "UPLOAD_TOO_LARGE");
    expect((await head(owner, upload.id)).headers.get("Upload-Offset")).toBe("100");
    expect((await tails(upload.id)).map((o) => o.size)).toEqual([100]);

    // Creation refusals create nothing.
    const before = (await db().select().from(resumableUploads).where(eq(resumableUploads.projectId, projectId))).length;
    await expectProblem(await create(owner, projectId, 5 * 1024 * 1024 * 1024 + 1), 413, "UPLOAD_TOO_LARGE");
    await expectProblem(
      await create(owner, projectId, 10, { metadata: `filename ${b64("photo.png")},filetype ${b64("image/png")}` }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await expectProblem(await create(owner, projectId, 10, { metadata: "filename !!notbase64" }), 400, "BAD_REQUEST");
    await expectProblem(await create(owner, projectId, 0), 422, "EMPTY_FILE");
    await expectProblem(await create(owner, projectId, 10, { body: new Uint8Array(11) }), 413, "UPLOAD_TOO_LARGE");
    await expectProblem(await create(owner, projectId, 10, { headers: { "Tus-Resumable": "" } }), 412, "PRECONDITION_FAILED");
    // Past MAX_SINGLE_JOB_UPLOAD_BYTES (256 MiB) only a UTF-8 CSV, read in segments, is taken; anything else is one job's work.
    const big = 256 * 1024 * 1024 + 1;
    const jsonFile = `filename ${b64("events.json")},filetype ${b64("application/json")}`;
    const oneJob = await expectProblem(await create(owner, projectId, big, { metadata: jsonFile }), 413, "UPLOAD_TOO_LARGE");
    expect(oneJob.detail).toMatch(/only a UTF-8 CSV is read in segments/);
    const latin1 = `filename ${b64("old.csv")},filetype ${b64("text/csv")},encoding ${b64("windows-1252")}`;
    await expectProblem(await create(owner, projectId, big, { metadata: latin1 }), 413, "UPLOAD_TOO_LARGE");
    expect(await db().select().from(resumableUploads).where(eq(resumableUploads.projectId, projectId))).toHaveLength(before);
    // The same size as a UTF-8 CSV is taken (and terminated here).
    const segmented = await json<UploadState>(await create(owner, projectId, big), 201);
    expect((await checkedFetch(`${BASE}/api/v1/uploads/${segmented.id}`, { method: "DELETE", headers: tus(owner) })).status).toBe(204);
  });

  it("another tenant's upload is 404 on every verb; a viewer may look (HEAD) but not create, append or terminate", async () => {
    const owner = await person("tus-tenant");
    const stranger = await person("tus-stranger");
    const viewer = await person("tus-viewer");
    const slug = await team(owner, "Uploads");
    await addMember(owner, slug, viewer, "viewer");
    const projectId = (
      await json<{ id: string }>(
        await call("/api/v1/projects", { method: "POST", token: owner.token, body: { name: "Team", org: slug } }),
        201,
      )
    ).id;
    const file = csv(100);
    const upload = await started(owner, projectId, file);

    await expectProblem(await create(stranger, projectId, file.length), 404, "NOT_FOUND");
    expect((await head(stranger, upload.id)).status).toBe(404);
    await expectProblem(await patch(stranger, upload.id, 0, file), 404, "NOT_FOUND");
    await expectProblem(
      await checkedFetch(`${BASE}/api/v1/uploads/${upload.id}`, { method: "DELETE", headers: tus(stranger) }),
      404,
      "NOT_FOUND",
    );
    await expectProblem(
      await checkedFetch(`${BASE}/api/v1/datasets/${upload.datasetId}/events`, { headers: tus(stranger) }),
      404,
      "NOT_FOUND",
    );

    await expectProblem(await create(viewer, projectId, file.length), 403, "FORBIDDEN");
    await expectProblem(await patch(viewer, upload.id, 0, file), 403, "FORBIDDEN");
    await expectProblem(
      await checkedFetch(`${BASE}/api/v1/uploads/${upload.id}`, { method: "DELETE", headers: tus(viewer) }),
      403,
      "FORBIDDEN",
    );
    expect((await head(viewer, upload.id)).status).toBe(200);
    expect((await head(owner, upload.id)).headers.get("Upload-Offset")).toBe("0");
    expect(await tails(upload.id)).toHaveLength(0);
  });
});

describe("termination and expiration", () => {
  it("DELETE aborts an unfinished upload: its parts and tail are gone, and the upload is 404 after", async () => {
    const owner = await person("tus-delete");
    const projectId = await newProject(owner);
    const file = csv(150_000);
    const upload = await started(owner, projectId, file);
    expect((await patch(owner, upload.id, 0, file.slice(0, PART_BYTES + 1000))).status).toBe(204);
    expect(await tails(upload.id)).toHaveLength(1);
    const deleted = await checkedFetch(`${BASE}/api/v1/uploads/${upload.id}`, { method: "DELETE", headers: tus(owner) });
    expect(deleted.status).toBe(204);
    expect(await tails(upload.id)).toHaveLength(0);
    expect((await head(owner, upload.id)).status).toBe(404);
    await expectProblem(await patch(owner, upload.id, PART_BYTES + 1000, file.slice(PART_BYTES + 1000)), 404, "NOT_FOUND");
  });

  it("an expired upload is 410, and the cron aborts it and removes its parts", async () => {
    const owner = await person("tus-expired");
    const projectId = await newProject(owner);
    const file = csv(1_000);
    const upload = await started(owner, projectId, file);
    expect((await patch(owner, upload.id, 0, file.slice(0, 500))).status).toBe(204);
    await db()
      .update(resumableUploads)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(resumableUploads.id, upload.id));
    await expectProblem(await patch(owner, upload.id, 500, file.slice(500)), 410, "UPLOAD_EXPIRED");
    expect((await head(owner, upload.id)).status).toBe(410);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/15 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await db().select().from(resumableUploads).where(eq(resumableUploads.id, upload.id))).toHaveLength(0);
    expect(await tails(upload.id)).toHaveLength(0);
    expect((await head(owner, upload.id)).status).toBe(404);
  });
});
