// The fault tests' control server (Node): stops and restarts the fault stack's gateways and model stub on their own ports, and reads its R2 state.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { listen, sendJson, type Listening } from "../../dev/http.ts";
import type { Stack } from "../../dev/stack.ts";
import type { OpenAIStub } from "../../dev/openai-stub/server.ts";
import type { TcpProxy } from "./tcp-proxy.ts";

export interface FaultTargets {
  stack: Stack;
  /** A TCP proxy in front of the machine's Postgres, for TCP data sources (absent without a real Postgres). */
  postgresTcp?: TcpProxy;
  /** The same in front of the machine's Redis, for redis:// sources (absent without a real Redis). */
  redisTcp?: TcpProxy;
  openai: OpenAIStub;
  /** The fault Worker's persistence directory (wrangler's `dev.persist`): where its R2 bucket lives. */
  persistDir: string;
}

interface Restartable {
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface R2State {
  objects: string[];
  /** Multipart uploads: state 0 in progress, 1 completed, 2 aborted. */
  uploads: { key: string; state: number }[];
}

/**
 * The R2 objects and multipart uploads whose key contains `fragment`, read from miniflare's SQLite
 * store of the bucket (read-only; the Worker keeps writing it meanwhile).
 */
async function r2State(persistDir: string, fragment: string): Promise<R2State> {
  // Loaded on first use: node:sqlite prints an experimental-feature warning when imported.
  const { DatabaseSync } = await import("node:sqlite");
  const dir = join(persistDir, "v3", "r2", "miniflare-R2BucketObject");
  const found: R2State = { objects: [], uploads: [] };
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith(".sqlite") && file !== "metadata.sqlite");
  } catch {
    return found; // nothing was ever stored
  }
  const like = `%${fragment.replaceAll(/[\\%_]/g, (char) => `\\${char}`)}%`;
  for (const file of files) {
    const db = new DatabaseSync(join(dir, file), { readOnly: true });
    try {
      const objects = db.prepare("SELECT key FROM _mf_objects WHERE key LIKE ? ESCAPE '\\'").all(like) as { key: string }[];
      const uploads = db.prepare("SELECT key, state FROM _mf_multipart_uploads WHERE key LIKE ? ESCAPE '\\'").all(like) as {
        key: string;
        state: number;
      }[];
      found.objects.push(...objects.map((row) => row.key));
      found.uploads.push(...uploads.map((row) => ({ key: row.key, state: row.state })));
    } catch {
      // another Durable Object's database (no R2 tables)
    } finally {
      db.close();
    }
  }
  return found;
}

/**
 * `POST /{neon|upstash|openai|postgres-tcp|redis-tcp}/{stop|start}` really closes (dropping in-flight connections) and
 * reopens that server on its port; `POST /neon/delay?ms=` adds latency to each SQL request;
 * `GET /neon/stats` counts SQL requests; `GET /r2/objects?contains=` lists the Worker's R2 keys.
 */
export async function startFaultControl(targets: FaultTargets): Promise<Listening> {
  const servers: Record<string, Restartable> = {
    neon: targets.stack.neon,
    upstash: targets.stack.upstash,
    openai: targets.openai,
    ...(targets.postgresTcp ? { "postgres-tcp": targets.postgresTcp } : {}),
    ...(targets.redisTcp ? { "redis-tcp": targets.redisTcp } : {}),
  };
  return listen(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://control");
    const [name, action] = url.pathname.split("/").filter(Boolean);
    if (req.method === "GET" && name === "neon" && action === "stats") return sendJson(res, 200, targets.stack.neon.stats);
    if (req.method === "GET" && name === "r2" && action === "objects") {
      return sendJson(res, 200, await r2State(targets.persistDir, url.searchParams.get("contains") ?? ""));
    }
    if (req.method === "POST" && name === "neon" && action === "delay") {
      targets.stack.neon.faults.delayMs = Math.max(0, Number(url.searchParams.get("ms") ?? 0) || 0);
      return sendJson(res, 200, { delayMs: targets.stack.neon.faults.delayMs });
    }
    const server = name ? servers[name] : undefined;
    if (req.method === "POST" && server && (action === "stop" || action === "start")) {
      await server[action]();
      return sendJson(res, 200, { [name!]: action === "stop" ? "stopped" : "started" });
    }
    return sendJson(res, 404, { message: `no control route ${req.method} ${url.pathname}` });
  });
}
