// The socket postgres.js gets through its `socket` option: cloudflare:sockets, TLS negotiated here, and quiet once closed.
// The driver's own Workers socket re-emits its read loop's "socket has been closed" after the driver has dropped its
// listeners, an unhandled rejection every time a pool closes a connection; this one reports a failure once, to listeners.
import { EventEmitter } from "node:events";
import { Buffer } from "node:buffer";
import { connect } from "cloudflare:sockets";
import type { Sslmode } from "./network.ts";

type Raw = ReturnType<typeof connect>;

/** What of a net.Socket postgres.js uses on a socket it did not open. */
export interface DriverSocket extends EventEmitter {
  readyState: "open" | "closed";
  write(data: Uint8Array, callback?: () => void): boolean;
  end(data?: Uint8Array): void;
  destroy(): void;
}

/** Postgres' SSLRequest: length 8, code 80877103. */
const sslRequest = new Uint8Array([0, 0, 0, 8, 4, 210, 22, 47]);

/** `disable`: plain; `allow`/`prefer`: TLS when the server offers it; otherwise TLS or no connection (startTls verifies the certificate). */
const wantsTls = (sslmode: Sslmode) => sslmode !== "disable";
const needsTls = (sslmode: Sslmode) => !["disable", "allow", "prefer"].includes(sslmode);

/** Asks for TLS on a fresh connection (before the startup message, as libpq does) and upgrades on the server's "S". */
async function negotiate(raw: Raw, host: string, sslmode: Sslmode): Promise<Raw> {
  const writer = raw.writable.getWriter();
  const reader = raw.readable.getReader();
  await writer.write(sslRequest);
  const { value } = await reader.read();
  writer.releaseLock();
  reader.releaseLock();
  if (value?.[0] === 83) return raw.startTls({ expectedServerHostname: host });
  if (needsTls(sslmode)) {
    await raw.close().catch(() => undefined);
    throw Object.assign(new Error(`The server at ${host} does not offer TLS, and sslmode=${sslmode} requires it.`), {
      code: "SSL_REFUSED",
    });
  }
  return raw;
}

/**
 * The connection to `host:port`, TLS as `sslmode` asks. A failure to connect is a socket that reports it (error, then close)
 * once the driver listens: a factory that threw would leave the driver's connection stuck "connecting", its pool slot lost.
 */
export async function openSocket(host: string, port: number, sslmode: Sslmode): Promise<DriverSocket> {
  try {
    return await connectedSocket(host, port, sslmode);
  } catch (error) {
    return failedSocket(error);
  }
}

function failedSocket(error: unknown): DriverSocket {
  const socket = Object.assign(new EventEmitter(), {
    readyState: "closed" as const,
    write: () => false,
    end: () => {},
    destroy: () => {},
  });
  setTimeout(() => {
    if (socket.listenerCount("error") > 0) socket.emit("error", error);
    socket.emit("close", true);
  }, 0);
  return socket;
}

async function connectedSocket(host: string, port: number, sslmode: Sslmode): Promise<DriverSocket> {
  const first = connect({ hostname: host, port }, { secureTransport: wantsTls(sslmode) ? "starttls" : "off", allowHalfOpen: false });
  const raw = wantsTls(sslmode) ? await negotiate(first, host, sslmode) : first;
  await raw.opened;
  const writer = raw.writable.getWriter();
  const reader = raw.readable.getReader();
  const socket = Object.assign(new EventEmitter(), { readyState: "open", write, end, destroy }) as DriverSocket;

  /** The first way the connection ended is the one reported; later failures of pending reads and writes are that end. */
  function finish(error?: unknown) {
    if (socket.readyState === "closed") return;
    socket.readyState = "closed";
    if (error !== undefined && socket.listenerCount("error") > 0) socket.emit("error", error);
    socket.emit("close", error !== undefined);
  }

  function write(data: Uint8Array, callback?: () => void) {
    if (socket.readyState === "closed") return false;
    writer.write(data).then(() => callback?.(), finish);
    return true;
  }

  function end(data?: Uint8Array) {
    const shut = () => void raw.close().catch(() => undefined);
    if (data && socket.readyState === "open") writer.write(data).then(shut, shut);
    else shut();
  }

  function destroy() {
    end();
  }

  (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        socket.emit("data", Buffer.from(value));
      }
      finish();
    } catch (error) {
      finish(error);
    }
  })();
  raw.closed.then(
    () => finish(),
    (error: unknown) => finish(error),
  );
  return socket;
}
