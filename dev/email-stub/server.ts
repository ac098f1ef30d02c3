// A local stand-in for an HTTP email API in Resend's wire format: POST /emails; keeps every message for tests and the dev log.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLarge, listen, readBody, sendJson } from "../http.ts";

export interface StoredEmail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  html: string | null;
  text: string | null;
  createdAt: string;
  /** The http(s) links in the text part, in order: what a test or a developer follows. */
  links: string[];
}

export interface EmailStubOptions {
  /** The API key senders must present (`Authorization: Bearer …`). */
  apiKey: string;
  port?: number;
  /** Called once per accepted message (npm run dev prints the links). */
  onMessage?: (message: StoredEmail) => void;
}

export interface EmailStub {
  url: string;
  apiKey: string;
  messages: StoredEmail[];
  close(): Promise<void>;
}

/** Resend's error body: `{statusCode, name, message}`. */
const fail = (res: ServerResponse, statusCode: number, name: string, message: string) =>
  sendJson(res, statusCode, { statusCode, name, message });

const linkPattern = /https?:\/\/[^\s<>"')]+/g;
/** `a@b` or `Name <a@b>`. */
const isAddress = (item: unknown): item is string => typeof item === "string" && /^[^\s@]+@[^\s@]+$/.test(item.replace(/^.*<(.*)>$/, "$1"));
const addresses = (value: unknown): string[] | null => {
  const list = typeof value === "string" ? [value] : Array.isArray(value) ? value : null;
  if (!list || list.length === 0 || list.length > 50 || !list.every(isAddress)) return null;
  return list as string[];
};

export async function startEmailStub(options: EmailStubOptions): Promise<EmailStub> {
  const messages: StoredEmail[] = [];
  // Read-outs waiting for messages to arrive (GET /_stub/messages?wait=…): woken by each new one.
  const waiters = new Set<{ check(): void; done(): void }>();

  async function send(req: IncomingMessage, res: ServerResponse) {
    const auth = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    if (!auth) return fail(res, 401, "missing_api_key", "Missing API key in the authorization header.");
    if (auth[1] !== options.apiKey) return fail(res, 403, "invalid_api_key", "API key is invalid");
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(req, 1024 * 1024)) as Record<string, unknown>;
      if (typeof body !== "object" || body === null || Array.isArray(body)) throw new Error("not an object");
    } catch (error) {
      if (error instanceof BodyTooLarge) return fail(res, 413, "validation_error", "The request body is too large.");
      return fail(res, 422, "validation_error", "The request body is not a JSON object.");
    }
    const to = addresses(body.to);
    if (!isAddress(body.from)) return fail(res, 422, "validation_error", "`from` must be an email address.");
    if (!to) return fail(res, 422, "validation_error", "`to` must be an email address or a list of 1 to 50.");
    if (typeof body.subject !== "string" || body.subject.length === 0)
      return fail(res, 422, "validation_error", "Missing `subject` field.");
    const html = typeof body.html === "string" ? body.html : null;
    const text = typeof body.text === "string" ? body.text : null;
    if (html === null && text === null) return fail(res, 422, "validation_error", "Missing `html` or `text` field.");
    const message: StoredEmail = {
      id: randomUUID(),
      from: body.from,
      to,
      subject: body.subject,
      html,
      text,
      createdAt: new Date().toISOString(),
      links: [...(text ?? html ?? "").matchAll(linkPattern)].map((match) => match[0]),
    };
    messages.push(message);
    options.onMessage?.(message);
    for (const waiter of [...waiters]) waiter.check();
    sendJson(res, 200, { id: message.id });
  }

  /** `GET /_stub/messages?to=&min=&wait=`: the messages (to one address), waiting up to `wait` ms for at least `min`. */
  async function read(url: URL, res: ServerResponse) {
    const to = url.searchParams.get("to")?.toLowerCase();
    const min = Number(url.searchParams.get("min") ?? 0);
    const wait = Math.min(Number(url.searchParams.get("wait") ?? 0), 60_000);
    const matching = () => messages.filter((message) => to === undefined || message.to.some((address) => address.toLowerCase() === to));
    if (matching().length < min && wait > 0) {
      await new Promise<void>((resolve) => {
        const waiter = {
          done() {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve();
          },
          check() {
            if (matching().length >= min) waiter.done();
          },
        };
        const timer = setTimeout(() => waiter.done(), wait);
        waiters.add(waiter);
      });
    }
    sendJson(res, 200, { data: matching() });
  }

  const server = await listen(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://stub");
    if (req.method === "POST" && url.pathname === "/emails") return send(req, res);
    if (req.method === "GET" && url.pathname === "/_stub/messages") return read(url, res);
    if (req.method === "DELETE" && url.pathname === "/_stub/messages") {
      messages.length = 0;
      return sendJson(res, 200, { data: [] });
    }
    fail(res, 404, "not_found", "The requested endpoint does not exist.");
  }, options.port);
  return {
    url: server.url,
    apiKey: options.apiKey,
    messages,
    close: async () => {
      for (const waiter of [...waiters]) waiter.done();
      await server.close();
    },
  };
}
