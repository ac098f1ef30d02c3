// The Worker's V8 inspector (through wrangler's inspector proxy): CPU profiles of the one isolate.
import WebSocket from "ws";

export interface Inspector {
  profile<T>(work: () => Promise<T>): Promise<{ result: T; profile: unknown }>;
  close(): void;
}

/** Connects to the inspector at `url` (a Worker's `inspectorUrl`). */
export async function connectInspector(url: URL): Promise<Inspector> {
  const targets = (await (await fetch(`http://${url.host}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  // The proxy only accepts DevTools' own origin.
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl, { headers: { Origin: "https://devtools.devprod.cloudflare.dev" } });
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  let next = 0;
  const pending = new Map<number, (result: unknown) => void>();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  // A bounded wait: an answer that never comes fails the bench instead of hanging it.
  const send = <T>(method: string, params: Record<string, unknown> = {}, timeoutMs = 10_000) =>
    new Promise<T>((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`inspector: no answer to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, (result) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(result as T);
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
  await send("Runtime.enable");
  return {
    async profile(work) {
      await send("Profiler.enable");
      await send("Profiler.setSamplingInterval", { interval: 200 });
      await send("Profiler.start");
      const result = await work();
      const { profile } = await send<{ profile: unknown }>("Profiler.stop");
      return { result, profile };
    },
    close: () => socket.close(),
  };
}
