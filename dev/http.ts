// Small node:http helpers shared by the local gateways.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyTooLarge(`request body over ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface Listening {
  server: Server;
  url: string;
  port: number;
  /** Stops accepting, drops open keep-alive connections, resolves when closed. */
  close(): Promise<void>;
  /** An outage (fault tests): closes the listener and drops every open connection, in flight or idle; `start` comes back. */
  stop(): Promise<void>;
  /** Listens again on the same port (a no-op while listening), so clients configured with `url` reach the server again. */
  start(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1 (port 0 picks a free one); a handler that throws answers 500. */
export async function listen(handler: Handler, port = 0): Promise<Listening> {
  const server = createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: String(error) });
      else res.destroy();
    });
  });
  // Node closes an idle keep-alive connection after 5 s; workerd may reuse one the server has just
  // closed and fail with "Network connection lost" (an upload that works for 8 s between queries did).
  // Hosted endpoints keep idle connections far longer, so the gateways do too.
  server.keepAliveTimeout = 120_000;
  const bind = (on: number) =>
    new Promise<void>((resolve, reject) => {
      const failed = (error: Error) => reject(error);
      server.once("error", failed);
      server.listen(on, "127.0.0.1", () => {
        server.off("error", failed);
        resolve();
      });
    });
  await bind(port);
  const actual = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) {
        server.closeAllConnections();
        return resolve();
      }
      server.close(() => resolve());
      // Requests in flight too, not only idle keep-alive sockets: an outage cuts them off mid-answer.
      server.closeAllConnections();
    });
  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    close,
    stop: close,
    start: async () => {
      if (!server.listening) await bind(actual);
    },
  };
}
