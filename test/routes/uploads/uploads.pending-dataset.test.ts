// GET /datasets/{id} on the id a resumable upload reserved, before its dataset is saved: uploading with the offset, then
// processing or ready, failed with the reason, 303 to the dataset that already had the bytes, 404 after termination and to
// another tenant; and 409 DATASET_NOT_READY (or UPLOAD_FAILED) from every route that needs the saved dataset.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client.ts";
import { resumableUploads } from "../../../src/db/schema.ts";
import { loadConfig } from "../../../src/env.ts";
import { datasetRoom } from "../../../src/services/uploads/progress.ts";
import { newProject, settled, upload as directUpload } from "../../support/dataset-loads.ts";
import { eventually } from "../../support/eventually.ts";
import { BASE, call, checkedFetch, json, type Person, person, randomIp } from "../../support/harness.ts";
import { expectProblem } from "../../support/problem.ts";

const encoder = new TextEncoder();

interface Pending {
  id: string;
  projectId: string;
  name: string;
  format: string;
  status: string;
  error: string | null;
  sizeBytes: number;
  progress: { phase: string; bytesDone: number | null; bytesTotal: number | null; rowsDone: number | null; at: string } | null;
  rowCount?: number;
  sha256?: string;
  upload: { id: string; url: string; offset: number; length: number; expiresAt: string };
}

const tus = (who: Person, headers: Record<string, string> = {}) => ({
  Authorization: `Bearer ${who.token}`,
  "Tus-Resumable": "1.0.0",
  "CF-Connecting-IP": randomIp(),
  ...headers,
});

/** Creates an upload of `length` bytes with `first` as its first chunk; answers its id and the dataset id it reserved. */
async function start(who: Person, projectId: string, length: number, first: Uint8Array) {
  const response = await checkedFetch(`${BASE}/api/v1/projects/${projectId}/uploads`, {
    method: "POST",
    headers: tus(who, {
      "Upload-Length": String(length),
      "Upload-Metadata": `filename ${btoa("sales.csv")},filetype ${btoa("text/csv")}`,
      "Content-Type": "application/offset+octet-stream",
    }),
    body: first,
  });
  return json<{ id: string; datasetId: string }>(response, 201);
}

const patch = (who: Person, id: string, offset: number, body: Uint8Array) =>
  checkedFetch(`${BASE}/api/v1/uploads/${id}`, {
    method: "PATCH",
    headers: tus(who, { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" }),
    body,
  });

const getDataset = (who: Person, id: string) =>
  checkedFetch(`${BASE}/api/v1/datasets/${id}`, {
    headers: { Authorization: `Bearer ${who.token}`, "CF-Connecting-IP": randomIp() },
    redirect: "manual",
  });

const pending = async (who: Person, id: string) => json<Pending>(await getDataset(who, id), 200);

/** Every route that needs the saved dataset, on `id`. */
const needsSaved = (who: Person, id: string) => [
  call(`/api/v1/datasets/${id}/query`, { method: "POST", token: who.token, body: { sql: "SELECT 1" } }),
  call(`/api/v1/datasets/${id}/download`, { token: who.token }),
  call(`/api/v1/datasets/${id}/rows`, { token: who.token }),
  call(`/api/v1/datasets/${id}/rejects`, { token: who.token }),
  call(`/api/v1/datasets/${id}/versions`, { token: who.token }),
  call(`/api/v1/datasets/${id}/schema`, { method: "PATCH", token: who.token, body: { columns: [{ column: "n", type: "text" }] } }),
  call("/api/v1/sessions", { method: "POST", token: who.token, body: { datasetId: id } }),
  call(`/api/v1/datasets/${id}`, { method: "DELETE", token: who.token }),
];

const csv = (rows: number, tag = crypto.randomUUID()) =>
  encoder.encode(`n,tag\n${Array.from({ length: rows }, (_, i) => `${i + 1},${tag}`).join("\n")}\n`);

describe("a dataset id reserved by a resumable upload", () => {
  it("is uploading with the upload's offset, refuses dataset routes with 409, then processing or ready", async () => {
    const owner = await person("pending-owner");
    const stranger = await person("pending-stranger");
    const projectId = await newProject(owner, "Pending");
    const file = csv(2_000);
    const half = Math.floor(file.length / 2);
    const upload = await start(owner, projectId, file.length, file.slice(0, half));

    const uploading = await getDataset(owner, upload.datasetId);
    expect(uploading.headers.get("Cache-Control")).toBe("no-store");
    expect(uploading.headers.get("ETag")).toMatch(/^W\//); // from the body, as a list's: it changes with every chunk
    const body = await json<Pending>(uploading, 200);
    expect(body).toMatchObject({
      id: upload.datasetId,
      projectId,
      name: "sales",
      format: "csv",
      status: "uploading",
      error: null,
      sizeBytes: file.length,
      upload: { id: upload.id, url: `/api/v1/uploads/${upload.id}`, offset: half, length: file.length },
    });
    expect(body.rowCount).toBeUndefined();
    expect(body.progress).toBeNull();

    for (const response of await Promise.all(needsSaved(owner, upload.datasetId))) {
      const problem = await expectProblem(response, 409, "DATASET_NOT_READY");
      expect(response.headers.get("Retry-After")).toBe("5");
      expect(problem).toMatchObject({ datasetStatus: "uploading", uploadId: upload.id });
    }
    // Another tenant sees nothing, pending or not.
    await expectProblem(await getDataset(stranger, upload.datasetId), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/datasets/${upload.datasetId}/download`, { token: stranger.token }), 404, "NOT_FOUND");

    expect((await patch(owner, upload.id, half, file.slice(half))).status).toBe(204);
    const after = await pending(owner, upload.datasetId);
    expect(["processing", "ready"]).toContain(after.status);
    if (after.status === "processing") expect(after.upload.offset).toBe(file.length);
    const ready = await eventually(
      () => pending(owner, upload.datasetId),
      (d) => d.status !== "processing",
    );
    expect(ready.status, ready.error ?? "").toBe("ready");
    expect(ready.rowCount).toBe(2_000);
    const saved = await getDataset(owner, upload.datasetId);
    expect(saved.headers.get("ETag")).toBe(`"${ready.sha256}"`);
    await saved.body?.cancel();
    expect((await settled(owner, upload.datasetId)).query.status).toBe("ready");
    await expectProblem(await getDataset(stranger, upload.datasetId), 404, "NOT_FOUND");
  });

  it("while processing, progress is the job's last progress event from the dataset's event log", async () => {
    const owner = await person("pending-progress");
    const projectId = await newProject(owner);
    const file = csv(100);
    const upload = await start(owner, projectId, file.length, file.slice(0, 10));
    // The last byte in, its job not yet run: the state a queued job leaves (no job is queued here, so it stays so).
    await createDb(env)
      .update(resumableUploads)
      .set({ status: "processing", offset: file.length })
      .where(eq(resumableUploads.id, upload.id));
    expect(await pending(owner, upload.datasetId)).toMatchObject({ status: "processing", progress: null });
    const loaded = loadConfig(env);
    if (!loaded.ok) throw new Error(loaded.problems.join("; "));
    const room = datasetRoom(loaded.config, upload.datasetId);
    await room.publish("progress", { phase: "profiling", bytesDone: 1_000, bytesTotal: file.length, rowsDone: 40 });
    await room.publish("progress", { phase: "profiling", bytesDone: 2_000, bytesTotal: file.length, rowsDone: 80 });
    const processing = await pending(owner, upload.datasetId);
    expect(processing.progress).toMatchObject({ phase: "profiling", bytesDone: 2_000, bytesTotal: file.length, rowsDone: 80 });
    expect(Date.parse(processing.progress!.at)).not.toBeNaN();
    await expectProblem(await call(`/api/v1/datasets/${upload.datasetId}/rows`, { token: owner.token }), 409, "DATASET_NOT_READY");
  });

  it("a file that cannot be a dataset is failed with the reason, and 409 UPLOAD_FAILED elsewhere", async () => {
    const owner = await person("pending-failed");
    const projectId = await newProject(owner);
    const file = encoder.encode("a,b\n1,2\n3,4,5\n"); // a ragged row, and onError=fail
    const upload = await start(owner, projectId, file.length, file);
    const failed = await eventually(
      () => pending(owner, upload.datasetId),
      (d) => d.status !== "processing",
    );
    expect(failed).toMatchObject({ status: "failed", sizeBytes: file.length, upload: { offset: file.length } });
    expect(failed.error).toMatch(/column|field|row/i);
    const problem = await expectProblem(
      await call(`/api/v1/datasets/${upload.datasetId}/query`, { method: "POST", token: owner.token, body: { sql: "SELECT 1" } }),
      409,
      "UPLOAD_FAILED",
    );
    expect(problem.detail).toContain(failed.error!);
    expect(problem.datasetStatus).toBe("failed");
  });

  it("an expired upload is failed; a terminated one leaves a 404", async () => {
    const owner = await person("pending-gone");
    const projectId = await newProject(owner);
    const file = csv(100);
    const expiring = await start(owner, projectId, file.length, file.slice(0, 10));
    await createDb(env)
      .update(resumableUploads)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(resumableUploads.id, expiring.id));
    const expired = await pending(owner, expiring.datasetId);
    expect(expired.status).toBe("failed");
    expect(expired.error).toMatch(/expired/);

    const terminated = await start(owner, projectId, file.length, file.slice(0, 10));
    expect((await pending(owner, terminated.datasetId)).status).toBe("uploading");
    const deleted = await checkedFetch(`${BASE}/api/v1/uploads/${terminated.id}`, { method: "DELETE", headers: tus(owner) });
    expect(deleted.status).toBe(204);
    await expectProblem(await getDataset(owner, terminated.datasetId), 404, "NOT_FOUND");
    await expectProblem(await call(`/api/v1/datasets/${terminated.datasetId}/rows`, { token: owner.token }), 404, "NOT_FOUND");
  });

  it("the project's list includes pending datasets with include=pending, in the same keyset pages", async () => {
    const owner = await person("pending-list");
    const projectId = await newProject(owner);
    const saved = await directUpload(owner, projectId, "a,b\n1,2\n", { name: "saved" });
    const file = csv(100);
    const upload = await start(owner, projectId, file.length, file.slice(0, 10));
    type Page = { data: { id: string; status: string }[]; nextCursor: string | null };
    const list = async (query: string) =>
      json<Page>(await call(`/api/v1/projects/${projectId}/datasets?${query}`, { token: owner.token }), 200);

    expect((await list("")).data.map((d) => d.id)).toEqual([saved.id]);
    const first = await list("include=pending&limit=1");
    expect(first.data).toMatchObject([{ id: upload.datasetId, status: "uploading" }]);
    const second = await list(`include=pending&limit=1&cursor=${first.nextCursor}`);
    expect(second.data).toMatchObject([{ id: saved.id, status: "ready" }]);
    expect(second.nextCursor).toBeNull();
    expect((await list("include=pending&name=sales")).data.map((d) => d.id)).toEqual([upload.datasetId]);

    // Once saved it is listed once, as the ready dataset (newest: by when it was saved).
    expect((await patch(owner, upload.id, 10, file.slice(10))).status).toBe(204);
    await eventually(
      () => pending(owner, upload.datasetId),
      (d) => d.status === "ready",
    );
    const after = await list("include=pending");
    expect(after.data.map((d) => [d.id, d.status])).toEqual([
      [upload.datasetId, "ready"],
      [saved.id, "ready"],
    ]);
  });

  it("bytes already in the project: the reserved id answers 303 to the dataset that has them", async () => {
    const owner = await person("pending-duplicate");
    const projectId = await newProject(owner);
    const file = csv(500);
    const first = await start(owner, projectId, file.length, file);
    expect(
      (
        await eventually(
          () => pending(owner, first.datasetId),
          (d) => d.status !== "processing",
        )
      ).status,
    ).toBe("ready");
    const again = await start(owner, projectId, file.length, file);
    const redirected = await eventually(
      async () => {
        const response = await getDataset(owner, again.datasetId);
        await response.body?.cancel();
        return { status: response.status, location: response.headers.get("Location") };
      },
      (answer) => answer.status !== 200,
    );
    expect(redirected).toEqual({ status: 303, location: `/api/v1/datasets/${first.datasetId}` });
    const problem = await expectProblem(await call(`/api/v1/datasets/${again.datasetId}/rows`, { token: owner.token }), 404, "NOT_FOUND");
    expect(problem.datasetId).toBe(first.datasetId);
  });
});
