// A webhook receiver for the tests, in Node: POST /hooks/{name} records each delivery (headers and the raw body) and
// answers the status the test scripted for that name (200 when none is left), after `delayMs` for a scripted one; the
// control routes script and read it.
import type { IncomingMessage, ServerResponse } from "node:http";
import { listen, readBody, sendJson } from "../../dev/http.ts";

export interface ReceivedHook {
  headers: Record<string, string>;
  body: string;
  receivedAt: string;
  /** The status this request was answered with. */
  answered: number;
}

export interface WebhookReceiver {
  url: string;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received = new Map<string, ReceivedHook[]>();
  const scripts = new Map<string, { statuses: number[]; delayMs: number }>();
  const waiters = new Set<() => void>();

  async function hook(name: string, req: IncomingMessage, res: ServerResponse) {
    const body = await readBody(req, 1024 * 1024);
    const script = scripts.get(name);
    const scripted = script?.statuses.shift();
    const status = scripted ?? 200;
    // A scripted answer may come late (`delayMs`): how a test makes a receiver time out.
    if (scripted !== undefined && script?.delayMs) await new Promise((resolve) => setTimeout(resolve, script.delayMs));
    const headers = Object.fromEntries(Object.entries(req.headers).map(([key, value]) => [key, String(value)]));
    const list = received.get(name) ?? [];
    list.push({ headers, body, receivedAt: new Date().toISOString(), answered: status });
    received.set(name, list);
    for (const wake of [...waiters]) wake();
    sendJson(res, status, { ok: status < 300 });
  }

  /** `GET /_control/{name}?min=&wait=`: what `name` received, waiting up to `wait` ms for at least `min` deliveries. */
  async function read(name: string, url: URL, res: ServerResponse) {
    const min = Number(url.searchParams.get("min") ?? 0);
    const wait = Math.min(Number(url.searchParams.get("wait") ?? 0), 60_000);
    const count = () => received.get(name)?.length ?? 0;
    if (count() < min && wait > 0) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          if (count() < min) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          resolve();
        }, wait);
        waiters.add(wake);
      });
    }
    sendJson(res, 200, { data: received.get(name) ?? [] });
  }

  const server = await listen(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    const [, area, name] = url.pathname.split("/");
    if (!name) return sendJson(res, 404, { message: "no such route" });
    if (area === "hooks" && req.method === "POST") return hook(name, req, res);
    if (area === "_control" && req.method === "GET") return read(name, url, res);
    if (area === "_control" && req.method === "PUT") {
      const { statuses = [], delayMs = 0 } = JSON.parse(await readBody(req, 64 * 1024)) as { statuses?: number[]; delayMs?: number };
      scripts.set(name, { statuses, delayMs });
      return sendJson(res, 200, { ok: true });
    }
    sendJson(res, 404, { message: "no such route" });
  });
  return { url: server.url, close: () => server.close() };
}
