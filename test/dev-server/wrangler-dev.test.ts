// `npm run dev` (dev/dev.ts, so `wrangler dev` and its dev proxy) survives requests the Worker answers before reading their whole body.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
/** wrangler dev bundles and starts two runtimes: minutes on a busy 2-core machine. */
const READY_TIMEOUT_MS = 240_000;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let child: ChildProcess;
let exited: { code: number | null } | null = null;
let output = "";
let base: string;
let dataDir: string;
let token: string;
let projectId: string;

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  dataDir = await mkdtemp(join(tmpdir(), "datacrafted-dev-server-"));
  const key = (kid: string) => `${kid}:${randomBytes(32).toString("base64url")}`;
  // As `npm run dev` runs it (node_modules/.bin first on PATH), on embedded engines and a data directory of its own.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${root}node_modules/.bin:${process.env.PATH}`,
    PORT: String(port),
    DEV_DATA_DIR: dataDir,
  };
  for (const name of ["LOCAL_POSTGRES_URL", "LOCAL_REDIS_URL", "REQUIRE_REAL_SERVICES"]) delete env[name];
  env.AUTH_JWT_KEYS = key("dev-test");
  env.DATA_SOURCE_KEYS = key("dev-test-ds");
  child = spawn(`${root}node_modules/.bin/tsx`, ["dev/dev.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stderr!.on("data", (chunk: Buffer) => void (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm run dev was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`)),
      READY_TIMEOUT_MS,
    );
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Datacrafted API is running at")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      exited = { code };
      clearTimeout(timer);
      reject(new Error(`npm run dev exited (${code}) before it was ready:\n${output}`));
    });
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const email = `dev-${randomBytes(4).toString("hex")}@example.com`;
  const password = `pw-${randomBytes(8).toString("hex")}`;
  expect((await post("/api/v1/auth/signup", { email, password })).status).toBe(202);
  token = ((await (await post("/api/v1/auth/signin", { email, password })).json()) as { accessToken: string }).accessToken;
  projectId = (
    (await (await post("/api/v1/projects", { name: "dev server" }, { authorization: `Bearer ${token}` })).json()) as { id: string }
  ).id;
}, READY_TIMEOUT_MS + 60_000);

afterAll(async () => {
  if (child && !exited) {
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGINT");
    await gone;
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

/** The dev server still answers, and was not restarted under us (its process is the same one). */
async function expectAlive() {
  const response = await fetch(`${base}/health`);
  expect(response.status, output.slice(-4000)).toBe(200);
  expect(exited).toBeNull();
}

async function upload(contentType: string, body: string): Promise<{ status: number; code?: string }> {
  const response = await fetch(`${base}/api/v1/projects/${projectId}/datasets?name=refused`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": contentType },
    body,
  });
  const problem = (await response.json()) as { code?: string };
  return { status: response.status, code: problem.code };
}

const boundary = "dev-server-test-boundary";
const part = (headers: string, content: string) => `--${boundary}\r\n${headers}\r\n\r\n${content}\r\n`;

describe("npm run dev under requests answered before their body is read", () => {
  it("survives too many rows", async () => {
    expect(await upload("text/csv", `a\n${"1\n".repeat(1_000_100)}`)).toEqual({ status: 422, code: "TOO_MANY_ROWS" });
    await expectAlive();
  });

  it("survives a ragged row late in the file", async () => {
    expect(await upload("text/csv", `a,b\n${"1,2\n".repeat(400_000)}1,2,3\n${"1,2\n".repeat(400_000)}`)).toEqual({
      status: 422,
      code: "CSV_MALFORMED",
    });
    await expectAlive();
  });

  it("survives a bad NDJSON line", async () => {
    expect(await upload("application/x-ndjson", `${'{"a":1}\n'.repeat(200_000)}{nope\n${'{"a":1}\n'.repeat(200_000)}`)).toEqual({
      status: 422,
      code: "JSON_MALFORMED",
    });
    await expectAlive();
  });

  it("survives a large multipart part before the file, and one after it", async () => {
    const type = `multipart/form-data; boundary=${boundary}`;
    const file = part('Content-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv', "a\n1\n2");
    const large = part('Content-Disposition: form-data; name="extra"', "x".repeat(3_000_000));
    expect(await upload(type, `${large}${file}--${boundary}--\r\n`)).toEqual({ status: 400, code: "BAD_REQUEST" });
    await expectAlive();
    const after = await upload(type, `${file}${large}--${boundary}--\r\n`);
    expect(after.status).toBe(201);
    await expectAlive();
  });

  it("survives a POST that declares a body and hangs up", async () => {
    const socket = net.connect(Number(new URL(base).port), "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const path = `/api/v1/projects/${projectId}/datasets?name=hangup`;
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n\r\na\n1\n2\n`,
    );
    // Hang up once the request is under way: the server has taken the bytes sent (the socket's buffer drained).
    await new Promise<void>((resolve) => (socket.writableLength === 0 ? resolve() : socket.once("drain", resolve)));
    socket.destroy();
    // The proxy sees the hang-up when the Worker next reads: a bounded poll for its report of the request (or the exit), then the check.
    for (let i = 0; i < 150 && !output.includes("name=hangup") && !exited; i++) await new Promise((r) => setTimeout(r, 200));
    await expectAlive();
  });

  it("answers a negative Content-Length itself (the runtime's plain-text 400, before the Worker), and carries on", async () => {
    const socket = net.connect(Number(new URL(base).port), "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk: Buffer) => void (answer += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(
      `POST /api/v1/projects/${projectId}/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Length: -1\r\nConnection: close\r\n\r\na\n1\n`,
    );
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    await expectAlive();
  });
});
